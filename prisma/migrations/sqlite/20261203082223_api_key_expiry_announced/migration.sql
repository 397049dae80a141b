-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN "expiredAnnouncedAt" DATETIME;
ALTER TABLE "ApiKey" ADD COLUMN "expiringSoonAnnouncedAt" DATETIME;

-- CreateIndex
CREATE INDEX "ApiKey_status_expiresAt_idx" ON "ApiKey"("status", "expiresAt");

-- Backfill: keys announced before the columns existed (their WebhookMessage's dedupeKey).
UPDATE "ApiKey" SET "expiringSoonAnnouncedAt" = (SELECT "createdAt" FROM "WebhookMessage" WHERE "WebhookMessage"."dedupeKey" = 'api_key.expiring_soon:' || "ApiKey"."id")
WHERE EXISTS (SELECT 1 FROM "WebhookMessage" WHERE "WebhookMessage"."dedupeKey" = 'api_key.expiring_soon:' || "ApiKey"."id");
UPDATE "ApiKey" SET "expiredAnnouncedAt" = (SELECT "createdAt" FROM "WebhookMessage" WHERE "WebhookMessage"."dedupeKey" = 'api_key.expired:' || "ApiKey"."id")
WHERE EXISTS (SELECT 1 FROM "WebhookMessage" WHERE "WebhookMessage"."dedupeKey" = 'api_key.expired:' || "ApiKey"."id");
