#!/bin/sh
# Placeholder for Prisma's native schema engine, which cannot be downloaded on these
# offline machines. prisma.config.ts points PRISMA_SCHEMA_ENGINE_BINARY here because
# `prisma generate` only checks that the file exists; anything that really runs it fails here.
echo "keygate: Prisma's native schema engine is not installed (offline machine)." >&2
echo "Use npm run db:migration -- <name> to create migrations and npm run db:migrate to apply them." >&2
exit 1
