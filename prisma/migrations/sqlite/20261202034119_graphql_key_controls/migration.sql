-- CreateTable
CREATE TABLE "TrustedDocument" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "authorizationGroupId" TEXT NOT NULL,
    "documentId" TEXT NOT NULL,
    "manifestId" TEXT,
    "operationName" TEXT,
    "document" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "TrustedDocument_authorizationGroupId_fkey" FOREIGN KEY ("authorizationGroupId") REFERENCES "AuthorizationGroup" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "UntrustedOperationSighting" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "authorizationGroupId" TEXT NOT NULL,
    "documentId" TEXT NOT NULL,
    "lastRecordedAt" DATETIME NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "UntrustedOperationSighting_authorizationGroupId_fkey" FOREIGN KEY ("authorizationGroupId") REFERENCES "AuthorizationGroup" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- AlterTable (plain ADD COLUMNs: other branches add columns to other tables in parallel)
ALTER TABLE "AuthorizationGroup" ADD COLUMN "operationPolicy" TEXT NOT NULL DEFAULT 'ANY';
ALTER TABLE "AuthorizationGroup" ADD COLUMN "costBudgetPoints" INTEGER;
ALTER TABLE "AuthorizationGroup" ADD COLUMN "costBudgetWindowSeconds" INTEGER;

-- CreateIndex
CREATE INDEX "TrustedDocument_authorizationGroupId_manifestId_idx" ON "TrustedDocument"("authorizationGroupId", "manifestId");

-- CreateIndex
CREATE UNIQUE INDEX "TrustedDocument_authorizationGroupId_documentId_key" ON "TrustedDocument"("authorizationGroupId", "documentId");

-- CreateIndex
CREATE UNIQUE INDEX "UntrustedOperationSighting_authorizationGroupId_documentId_key" ON "UntrustedOperationSighting"("authorizationGroupId", "documentId");
