-- DropIndex
DROP INDEX "User_tenantId_idx";

-- DropIndex
DROP INDEX "User_email_key";

-- AlterTable
ALTER TABLE "AuditEvent" ADD COLUMN "actorTenantId" TEXT;
ALTER TABLE "AuditEvent" ADD COLUMN "organizationId" TEXT;

-- CreateIndex
CREATE INDEX "AuditEvent_tenantId_organizationId_createdAt_id_idx" ON "AuditEvent"("tenantId", "organizationId", "createdAt", "id");

-- CreateIndex
CREATE INDEX "User_email_idx" ON "User"("email");

-- CreateIndex
CREATE UNIQUE INDEX "User_tenantId_email_key" ON "User"("tenantId", "email");
