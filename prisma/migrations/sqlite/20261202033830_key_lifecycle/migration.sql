-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN "previousSecretDigest" TEXT;
ALTER TABLE "ApiKey" ADD COLUMN "previousSecretExpiresAt" DATETIME;
ALTER TABLE "ApiKey" ADD COLUMN "previousSecretLastUsedAt" DATETIME;

-- CreateTable
CREATE TABLE "ApiKeyUsageCount" (
    "apiKeyId" TEXT NOT NULL,
    "start" DATETIME NOT NULL,
    "accepted" INTEGER NOT NULL DEFAULT 0,
    "acceptedPreviousSecret" INTEGER NOT NULL DEFAULT 0,
    "rejectedForbidden" INTEGER NOT NULL DEFAULT 0,
    "rejectedIpAddress" INTEGER NOT NULL DEFAULT 0,
    "rejectedRateLimit" INTEGER NOT NULL DEFAULT 0,
    "rejectedBudget" INTEGER NOT NULL DEFAULT 0,
    "rejectedUntrustedOperation" INTEGER NOT NULL DEFAULT 0,

    PRIMARY KEY ("apiKeyId", "start"),
    CONSTRAINT "ApiKeyUsageCount_apiKeyId_fkey" FOREIGN KEY ("apiKeyId") REFERENCES "ApiKey" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- AlterTable (plain ADD COLUMNs, not a table rebuild: other branches add Tenant columns too)
ALTER TABLE "Tenant" ADD COLUMN "keyPolicyMaxLifetimeDays" INTEGER;
ALTER TABLE "Tenant" ADD COLUMN "keyPolicyRequireExpiry" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "Tenant" ADD COLUMN "keyPolicyRequireIpAllowlist" BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE "Tenant" ADD COLUMN "keyPolicyLeakResponse" TEXT NOT NULL DEFAULT 'REVOKE';

-- CreateIndex
CREATE INDEX "ApiKeyUsageCount_start_idx" ON "ApiKeyUsageCount"("start");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_previousSecretDigest_key" ON "ApiKey"("previousSecretDigest");
