-- CreateEnum
CREATE TYPE "LeakResponse" AS ENUM ('REVOKE', 'NOTIFY');

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "previousSecretDigest" TEXT,
ADD COLUMN     "previousSecretExpiresAt" TIMESTAMP(3),
ADD COLUMN     "previousSecretLastUsedAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Tenant" ADD COLUMN     "keyPolicyLeakResponse" "LeakResponse" NOT NULL DEFAULT 'REVOKE',
ADD COLUMN     "keyPolicyMaxLifetimeDays" INTEGER,
ADD COLUMN     "keyPolicyRequireExpiry" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "keyPolicyRequireIpAllowlist" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "ApiKeyUsageCount" (
    "apiKeyId" TEXT NOT NULL,
    "start" TIMESTAMP(3) NOT NULL,
    "accepted" INTEGER NOT NULL DEFAULT 0,
    "acceptedPreviousSecret" INTEGER NOT NULL DEFAULT 0,
    "rejectedForbidden" INTEGER NOT NULL DEFAULT 0,
    "rejectedIpAddress" INTEGER NOT NULL DEFAULT 0,
    "rejectedRateLimit" INTEGER NOT NULL DEFAULT 0,
    "rejectedBudget" INTEGER NOT NULL DEFAULT 0,
    "rejectedUntrustedOperation" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "ApiKeyUsageCount_pkey" PRIMARY KEY ("apiKeyId","start")
);

-- CreateIndex
CREATE INDEX "ApiKeyUsageCount_start_idx" ON "ApiKeyUsageCount"("start");

-- CreateIndex
CREATE UNIQUE INDEX "ApiKey_previousSecretDigest_key" ON "ApiKey"("previousSecretDigest");

-- AddForeignKey
ALTER TABLE "ApiKeyUsageCount" ADD CONSTRAINT "ApiKeyUsageCount_apiKeyId_fkey" FOREIGN KEY ("apiKeyId") REFERENCES "ApiKey"("id") ON DELETE CASCADE ON UPDATE CASCADE;
