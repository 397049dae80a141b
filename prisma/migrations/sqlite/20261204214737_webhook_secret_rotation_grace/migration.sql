-- AlterTable
ALTER TABLE "WebhookEndpoint" ADD COLUMN "previousSecretCiphertext" TEXT;
ALTER TABLE "WebhookEndpoint" ADD COLUMN "previousSecretExpiresAt" DATETIME;
