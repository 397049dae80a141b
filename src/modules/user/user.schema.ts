import { db } from '../../db.js';
import { builder } from '../../schema/builder.js';
import { CURSOR_ROW, keysetPage } from '../../schema/pagination.js';
import {
  changePassword,
  createUser,
  deactivateUser,
  findReadableUser,
  signIn,
  signOut,
  updateUser,
  userFilter,
  type UserListArgs,
} from './user.service.js';

export const UserRole = builder.enumType('UserRole', {
  description: 'What a user may do in its tenant.',
  values: {
    PLATFORM_ADMIN: { description: 'Administers the whole platform; exists only in the system tenant.' },
    TENANT_ADMIN: { description: 'Holds every permission in its tenant.' },
    MEMBER: { description: 'Reads the tenant; its USER authorization group may grant more.' },
  } as const,
});

export const User = builder.prismaObject('User', {
  description: 'A person who signs in to one tenant with an email and a password.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The user’s id.' }),
    email: t.exposeString('email', { description: 'The sign-in email, unique within the tenant.' }),
    role: t.expose('role', { type: UserRole, description: 'The user’s role in its tenant.' }),
    tenant: t.relation('tenant', { description: 'The tenant the user belongs to.' }),
    authorizationGroup: t.relation('authorizationGroup', {
      nullable: true,
      description: 'The USER group that refines what a MEMBER may do, if any.',
    }),
    deactivatedAt: t.expose('deactivatedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the user was deactivated; a deactivated user cannot sign in. Null while active.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the user was created.' }),
  }),
});

type UserArgs = { tenantId?: string | number | null; role?: UserListArgs['role']; authorizationGroupId?: string | number | null };
const usersWhere = (auth: Parameters<typeof userFilter>[0], args: UserArgs) =>
  userFilter(auth, { tenantId: args.tenantId?.toString(), role: args.role, authorizationGroupId: args.authorizationGroupId?.toString() });

builder.queryFields((t) => ({
  users: t.prismaConnection(
    {
      type: 'User',
      cursor: 'id',
      description: 'The users of a tenant, newest first, deactivated ones included. Needs a session with users:manage.',
      args: {
        tenantId: t.arg.id({ description: 'Platform administrators: the tenant to list.' }),
        role: t.arg({ type: UserRole, description: 'Only users with this role.' }),
        authorizationGroupId: t.arg.id({ description: 'Only users in this USER group.' }),
      },
      authScopes: { can: 'user:read' },
      resolve: async (query, _root, args, { auth }) => {
        const where = usersWhere(auth, args);
        // Any user the caller sees marks a position: one whose role or group changed since the last page too.
        const visible = usersWhere(auth, { tenantId: args.tenantId });
        return db.user.findMany({
          ...(await keysetPage(query, where, (id) => db.user.findFirst({ where: { AND: [{ id }, visible] }, select: CURSOR_ROW }))),
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        });
      },
      totalCount: (_connection, args, { auth }) => db.user.count({ where: usersWhere(auth, args) }),
    },
    { name: 'UserConnection', description: 'A page of users.' },
    { name: 'UserEdge', description: 'A user in a page.' },
  ),
  user: t.prismaField({
    type: 'User',
    description: 'One user. Needs a session with users:manage; another tenant’s user is NOT_FOUND.',
    args: { id: t.arg.id({ required: true, description: 'The user’s id.' }) },
    authScopes: { can: 'user:read' },
    resolve: async (query, _root, { id }, { auth }) => {
      await findReadableUser(auth, String(id));
      return db.user.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
}));

const SignInPayload = builder.objectRef<{ token: string; expiresAt: Date; userId: string }>('SignInPayload').implement({
  description: 'A new session.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Send as `Authorization: Bearer <token>`. Shown only here.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When the session ends unless signed out before.' }),
    user: t.prismaField({
      type: 'User',
      description: 'The signed-in user.',
      resolve: (query, payload) => db.user.findUniqueOrThrow({ ...query, where: { id: payload.userId } }),
    }),
  }),
});

const CreateUserInput = builder.inputType('CreateUserInput', {
  description: 'A new user.',
  fields: (t) => ({
    tenantId: t.id({ description: "Platform administrators: the user's tenant. Default: the caller's." }),
    email: t.string({ required: true, description: 'The sign-in email, unique within the tenant.' }),
    password: t.string({ required: true, description: 'At least 12 characters.' }),
    role: t.field({ type: UserRole, description: 'Default MEMBER.' }),
    authorizationGroupId: t.id({ description: 'A USER group that refines what a MEMBER may do.' }),
  }),
});

const UpdateUserInput = builder.inputType('UpdateUserInput', {
  description: 'What a user edit may change; omitted fields stay as they are.',
  fields: (t) => ({
    role: t.field({ type: UserRole, description: 'The new role. Nobody changes their own role or grants more than they hold.' }),
    authorizationGroupId: t.id({ description: 'A USER group of the user’s tenant; null removes the group.' }),
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
    description: 'Creates a user. Needs a session with users:manage, holding every permission the user gets.',
    args: { input: t.arg({ type: CreateUserInput, required: true, description: 'The new user.' }) },
    authScopes: { can: 'user:manage' },
    resolve: async (query, _root, { input }, { auth }) => {
      const { id } = await createUser(auth, {
        ...input,
        tenantId: input.tenantId?.toString(),
        authorizationGroupId: input.authorizationGroupId?.toString(),
      });
      return db.user.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
  updateUser: t.prismaField({
    type: 'User',
    description:
      'Changes a user’s role or group. Needs a session with users:manage holding everything the user has and gets; platform administrators are changed by platform administrators only; nobody changes their own role.',
    args: {
      id: t.arg.id({ required: true, description: 'The user to change.' }),
      input: t.arg({ type: UpdateUserInput, required: true, description: 'The changes.' }),
    },
    authScopes: { can: 'user:manage' },
    resolve: async (query, _root, { id, input }, { auth }) => {
      const authorizationGroupId = input.authorizationGroupId === undefined ? undefined : (input.authorizationGroupId?.toString() ?? null);
      await updateUser(auth, String(id), { role: input.role, authorizationGroupId });
      return db.user.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  deactivateUser: t.prismaField({
    type: 'User',
    description:
      'Deactivates a user: its sessions end at once and it can no longer sign in. API keys it created keep working and still name it as creator. Same rights as updateUser; nobody deactivates themselves.',
    args: { id: t.arg.id({ required: true, description: 'The user to deactivate.' }) },
    authScopes: { can: 'user:manage' },
    resolve: async (query, _root, { id }, { auth }) => {
      await deactivateUser(auth, String(id));
      return db.user.findUniqueOrThrow({ ...query, where: { id: String(id) } });
    },
  }),
  changePassword: t.prismaField({
    type: 'User',
    description: "Changes the signed-in user's own password and ends the user's other sessions (this one stays).",
    args: {
      currentPassword: t.arg.string({ required: true, description: 'The password in use now.' }),
      newPassword: t.arg.string({ required: true, description: 'The new password, at least 12 characters.' }),
    },
    authScopes: { session: true },
    resolve: async (query, _root, { currentPassword, newPassword }, { auth, signInAttempts }) => {
      const { id } = await changePassword(auth, currentPassword, newPassword, signInAttempts);
      return db.user.findUniqueOrThrow({ ...query, where: { id } });
    },
  }),
}));
