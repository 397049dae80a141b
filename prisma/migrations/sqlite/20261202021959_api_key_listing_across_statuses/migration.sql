-- CreateIndex
CREATE INDEX "ApiKey_tenantId_createdAt_id_idx" ON "ApiKey"("tenantId", "createdAt", "id");
