/**
 * Imported first by every webhook test file: fast retries and a receiver on 127.0.0.1 (the
 * SSRF guard is lifted here; url-guard tests check it with the guard on). Production
 * defaults are in README "Webhooks".
 */
process.env.KEYGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS = 'true';
process.env.KEYGATE_WEBHOOK_RETRY_BASE_MS = '40';
process.env.KEYGATE_WEBHOOK_RETRY_MAX_MS = '200';
process.env.KEYGATE_WEBHOOK_TIMEOUT_MS = '600';
process.env.KEYGATE_WEBHOOK_POLL_MS = '50';
process.env.KEYGATE_WEBHOOK_MAX_ATTEMPTS = '3';
process.env.KEYGATE_WEBHOOK_SWEEP_MS = '3600000';
