-- AlterTable
ALTER TABLE "AuditEvent" ADD COLUMN "projectId" TEXT;

-- Backfill: the project of events recorded before the column existed. A run deleted since
-- leaves its event without one (access.ts hides such events from SELECTED keys).
UPDATE "AuditEvent" SET "projectId" = "targetId" WHERE "targetType" = 'Project';
UPDATE "AuditEvent" SET "projectId" = json_extract("metadata", '$.projectId') WHERE "targetType" = 'Workflow';
UPDATE "AuditEvent" SET "projectId" = (SELECT "projectId" FROM "WorkflowRun" WHERE "WorkflowRun"."id" = "AuditEvent"."targetId") WHERE "targetType" = 'WorkflowRun';
