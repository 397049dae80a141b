/**
 * First start: the system tenant and one platform administrator. Idempotent, and safe when
 * several instances start at once (unique slug and email decide the race).
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config.js';
import { db } from '../../db.js';
import type { Logger } from '../../lib/logger.js';
import { canonicalEmail, isUniqueViolation } from '../../lib/validate.js';
import { recordAudit } from '../audit/audit.service.js';
import { hashPassword } from './password.js';

export const SYSTEM_TENANT_SLUG = 'system';

export async function bootstrap(config: Config, logger: Logger, announce: (line: string) => void = console.log) {
  const system = await systemTenant();
  // Emails are stored lower-cased (createUser, signIn and reset-password compare them so).
  const adminEmail = canonicalEmail(config.adminEmail);
  if (await db.user.count({ where: { tenantId: system.id, role: 'PLATFORM_ADMIN' } })) {
    // Operators set it again after losing the password and expect it to apply; say why it does not.
    if (config.adminPassword) {
      logger.warn(
        'KEYGATE_ADMIN_PASSWORD is ignored: it only seeds the first platform administrator, who already exists. ' +
          'To set a password, run `keygate admin reset-password <email>`',
      );
    }
    return;
  }

  const generated = config.adminPassword ? null : randomBytes(18).toString('base64url');
  try {
    await db.$transaction(async (tx) => {
      const admin = await tx.user.create({
        data: {
          tenantId: system.id,
          email: adminEmail,
          role: 'PLATFORM_ADMIN',
          passwordHash: await hashPassword(config.adminPassword ?? generated!),
        },
      });
      await recordAudit(tx, 'SYSTEM', { tenantId: system.id, action: 'user.created', targetType: 'User', targetId: admin.id, metadata: { email: admin.email, role: 'PLATFORM_ADMIN' } });
    });
  } catch (error) {
    if (isUniqueViolation(error)) return; // another instance won the race
    throw error;
  }
  logger.info('created the platform administrator', { email: adminEmail });
  if (generated) {
    // Printed once to the terminal (not the structured log): the operator must save it now.
    announce(`\nkeygate: platform administrator ${adminEmail}, generated password: ${generated}\n(shown only this once; set KEYGATE_ADMIN_PASSWORD to choose it)\n`);
  }
}

/**
 * The system tenant, created when missing. An upsert is a read then a write on PostgreSQL, so
 * two instances starting together may both try to create it: the loser reads the winner's.
 */
async function systemTenant() {
  const create = { slug: SYSTEM_TENANT_SLUG, name: 'System', isSystem: true };
  try {
    return await db.tenant.upsert({ where: { slug: SYSTEM_TENANT_SLUG }, update: {}, create });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    return db.tenant.findUniqueOrThrow({ where: { slug: SYSTEM_TENANT_SLUG } });
  }
}
