import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { createUser, signIn, signOut } from './user.service.js';

export const UserRole = builder.enumType('UserRole', { values: ['PLATFORM_ADMIN', 'TENANT_ADMIN', 'MEMBER'] as const });

export const User = builder.prismaObject('User', {
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email'),
    role: t.expose('role', { type: UserRole }),
    tenant: t.relation('tenant'),
    authorizationGroup: t.relation('authorizationGroup', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const SignInPayload = builder.objectRef<{ token: string; expiresAt: Date; userId: string }>('SignInPayload').implement({
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Send as `Authorization: Bearer <token>`. Shown only here.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    user: t.prismaField({
      type: 'User',
      resolve: (query, payload) => db.user.findUniqueOrThrow({ ...query, where: { id: payload.userId } }),
    }),
  }),
});

const CreateUserInput = builder.inputType('CreateUserInput', {
  fields: (t) => ({
    tenantId: t.id(),
    email: t.string({ required: true }),
    password: t.string({ required: true, description: 'At least 12 characters.' }),
    role: t.field({ type: UserRole, description: 'Default MEMBER.' }),
    authorizationGroupId: t.id({ description: 'A USER group that refines what a MEMBER may do.' }),
  }),
});

builder.mutationFields((t) => ({
  signIn: t.field({
    type: SignInPayload,
    description:
      'Signs in with an email and a password and returns a session token. Emails are unique within a tenant: when the same email and password belong to users of several tenants, give the tenant slug.',
    skipTypeScopes: true,
    args: {
      email: t.arg.string({ required: true, description: 'The user’s email address.' }),
      password: t.arg.string({ required: true, description: 'The user’s password.' }),
      tenant: t.arg.string({ description: 'The slug of the user’s tenant. Optional unless the email and password match users of several tenants.' }),
    },
    resolve: async (_root, { email, password, tenant }, { signInAttempts }) => {
      const { token, expiresAt, user } = await signIn(email, password, { tenant, attempts: signInAttempts });
      return { token, expiresAt, userId: user.id };
    },
  }),
  signOut: t.boolean({
    description: "Ends the caller's session.",
    authScopes: { session: true },
    resolve: (_root, _args, { auth }) => signOut(auth),
  }),
  createUser: t.prismaField({
    type: 'User',
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    authScopes: { session: true },
    resolve: async (query, _root, { input }, { auth }) => {
      const { id } = await createUser(auth, {
        ...input,
        tenantId: input.tenantId?.toString(),
        authorizationGroupId: input.authorizationGroupId?.toString(),
      });
      return db.user.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
}));
