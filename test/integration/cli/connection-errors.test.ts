/**
 * The classification behind the one-line database failures, for the errors this machine
 * cannot provoke for real (its PostgreSQL trusts every local role, so no password is ever
 * wrong): the error objects pg produces, by SQLSTATE or socket code.
 */
import { describe, expect, it } from 'vitest';
import { describePgConnectionError, pgConnectionFailure, pgTarget } from '../../../src/db/connection-errors.js';
import { StartupError } from '../../../src/lib/startup-error.js';

const url = 'postgresql://app:s3cret-pass@db.internal:6543/keygate?sslmode=require';

function pgError(code: string, message = 'server says no') {
  return Object.assign(new Error(message), { code, severity: 'FATAL' });
}

describe('describePgConnectionError', () => {
  it('28P01 (invalid password) names the role and DATABASE_URL, never the password', () => {
    const line = describePgConnectionError(pgError('28P01', 'password authentication failed for user "app"'), url)!;
    expect(line).toContain('rejected the password of role "app"');
    expect(line).toContain('DATABASE_URL');
    expect(line).toContain('db.internal:6543');
    expect(line).not.toContain('s3cret-pass');
  });

  it('28000 (invalid authorization) names the role and pg_hba.conf', () => {
    const line = describePgConnectionError(pgError('28000', 'no pg_hba.conf entry for host "10.0.0.5", user "app"'), url)!;
    expect(line).toMatch(/refused role "app".*pg_hba\.conf/);
  });

  it('3D000 (no such database) says createdb <name>', () => {
    expect(describePgConnectionError(pgError('3D000', 'database "keygate" does not exist'), url)).toContain('`createdb keygate`');
  });

  it('ECONNREFUSED, also wrapped in an AggregateError (a host with several addresses), says connection refused', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6543'), { code: 'ECONNREFUSED' });
    expect(describePgConnectionError(refused, url)).toMatch(/db\.internal:6543 \(connection refused\).*DATABASE_URL/);
    const aggregate = new AggregateError([refused, Object.assign(new Error('::1'), { code: 'ECONNREFUSED' })], 'connect failed');
    expect(describePgConnectionError(aggregate, url)).toContain('connection refused');
  });

  it('leaves other errors alone, to be reported as unexpected', () => {
    const other = pgError('XX000', 'internal error');
    expect(describePgConnectionError(other, url)).toBeNull();
    expect(pgConnectionFailure(other, url)).toBe(other);
    expect(pgConnectionFailure(pgError('28P01'), url)).toBeInstanceOf(StartupError);
  });

  it('reads host, port, database and role from the URL, with pg defaults', () => {
    expect(pgTarget(url)).toEqual({ host: 'db.internal', port: '6543', database: 'keygate', user: 'app' });
    expect(pgTarget('postgresql://ops@localhost')).toMatchObject({ port: '5432', database: 'ops', user: 'ops' });
  });
});
