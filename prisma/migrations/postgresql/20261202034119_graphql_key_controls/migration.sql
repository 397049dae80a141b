-- CreateEnum
CREATE TYPE "OperationPolicy" AS ENUM ('ANY', 'AUDIT', 'TRUSTED_ONLY');

-- AlterTable
ALTER TABLE "AuthorizationGroup" ADD COLUMN     "costBudgetPoints" INTEGER,
ADD COLUMN     "costBudgetWindowSeconds" INTEGER,
ADD COLUMN     "operationPolicy" "OperationPolicy" NOT NULL DEFAULT 'ANY';

-- CreateTable
CREATE TABLE "TrustedDocument" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "authorizationGroupId" TEXT NOT NULL,
    "documentId" TEXT NOT NULL,
    "manifestId" TEXT,
    "operationName" TEXT,
    "document" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TrustedDocument_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "UntrustedOperationSighting" (
    "id" TEXT NOT NULL,
    "authorizationGroupId" TEXT NOT NULL,
    "documentId" TEXT NOT NULL,
    "lastRecordedAt" TIMESTAMP(3) NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "UntrustedOperationSighting_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "TrustedDocument_authorizationGroupId_manifestId_idx" ON "TrustedDocument"("authorizationGroupId", "manifestId");

-- CreateIndex
CREATE UNIQUE INDEX "TrustedDocument_authorizationGroupId_documentId_key" ON "TrustedDocument"("authorizationGroupId", "documentId");

-- CreateIndex
CREATE UNIQUE INDEX "UntrustedOperationSighting_authorizationGroupId_documentId_key" ON "UntrustedOperationSighting"("authorizationGroupId", "documentId");

-- AddForeignKey
ALTER TABLE "TrustedDocument" ADD CONSTRAINT "TrustedDocument_authorizationGroupId_fkey" FOREIGN KEY ("authorizationGroupId") REFERENCES "AuthorizationGroup"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "UntrustedOperationSighting" ADD CONSTRAINT "UntrustedOperationSighting_authorizationGroupId_fkey" FOREIGN KEY ("authorizationGroupId") REFERENCES "AuthorizationGroup"("id") ON DELETE CASCADE ON UPDATE CASCADE;
