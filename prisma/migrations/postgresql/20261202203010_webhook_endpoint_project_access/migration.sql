-- AlterTable
ALTER TABLE "WebhookEndpoint" ADD COLUMN     "projectAccess" "ProjectAccess" NOT NULL DEFAULT 'ALL';

-- Backfill: an endpoint that lists projects listens to those only.
UPDATE "WebhookEndpoint" SET "projectAccess" = 'SELECTED'
WHERE EXISTS (SELECT 1 FROM "WebhookEndpointProject" WHERE "WebhookEndpointProject"."endpointId" = "WebhookEndpoint"."id");
