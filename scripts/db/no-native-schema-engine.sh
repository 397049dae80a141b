#!/bin/sh
# Stands in for Prisma's native schema engine, which these offline machines cannot download:
# prisma.config.ts points PRISMA_SCHEMA_ENGINE_BINARY here because `prisma generate` only checks
# that the file exists. Commands that really need the engine fail here. The CLI parses every
# stderr line after the first as a JSON log, hence the shape of the second line.
echo "keygate: Prisma's native schema engine is not installed on this machine." >&2
echo '{"level":"ERROR","target":"keygate","fields":{"message":"Prisma migrate/db commands need the native schema engine, unavailable offline. Use npm run db:migration -- <name> to create a migration and npm run db:migrate to apply them."}}' >&2
exit 1
