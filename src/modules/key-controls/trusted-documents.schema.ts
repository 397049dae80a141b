/** The trusted documents of a TENANT_API_KEY group: what its keys may run under AUDIT or TRUSTED_ONLY. */
import { builder } from '../../schema/builder.js';
import { addTrustedDocuments, removeTrustedDocuments, trustedDocumentsOf } from './trusted-documents.service.js';

builder.prismaObject('TrustedDocument', {
  description: 'A GraphQL document the keys of a group may run (operationPolicy AUDIT or TRUSTED_ONLY).',
  fields: (t) => ({
    id: t.exposeString('documentId', { description: 'The document’s id, `sha256:<hex of its text>`: send it as `documentId`.' }),
    manifestId: t.exposeString('manifestId', {
      nullable: true,
      description: 'The id a client manifest gave it when that is not its sha256 (Relay); clients may send it as `documentId` too.',
    }),
    operationName: t.exposeString('operationName', { nullable: true, description: 'The name of its operation, if it has one.' }),
    document: t.exposeString('document', { description: 'The document’s text, exactly as stored and hashed.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was added.' }),
  }),
});

builder.queryFields((t) => ({
  trustedDocuments: t.prismaField({
    type: ['TrustedDocument'],
    description: 'The trusted documents of a TENANT_API_KEY group, oldest first. Needs a session with authorization_groups:manage.',
    args: { authorizationGroupId: t.arg.id({ required: true, description: 'The group.' }) },
    authScopes: { can: 'trusted_document:manage' },
    resolve: (_query, _root, args, { auth }) => trustedDocumentsOf(auth, String(args.authorizationGroupId)),
  }),
}));

builder.mutationFields((t) => ({
  addTrustedDocuments: t.prismaField({
    type: ['TrustedDocument'],
    description:
      'Adds documents to a TENANT_API_KEY group’s trusted set: each is parsed and validated against the schema this server serves, upstream fields included in gateway mode (one that does not is refused, named, and nothing is stored) and stored under `sha256:<hex of its text>`. Adding one again is harmless. Returns the documents given. Needs a session with authorization_groups:manage.',
    args: {
      authorizationGroupId: t.arg.id({ required: true, description: 'The group.' }),
      documents: t.arg.stringList({ description: 'Document texts, each with exactly one operation (and its fragments).' }),
      manifest: t.arg({
        type: 'JSON',
        description:
          'A persisted-documents manifest as clients produce it, a JSON object of id → document text: GraphQL Code Generator’s client preset (`persisted-documents.json`) or Relay (`persisted_queries.json`).',
      }),
    },
    authScopes: { can: 'trusted_document:manage' },
    resolve: (_query, _root, args, { auth, servedSchema }) =>
      addTrustedDocuments(auth, servedSchema, { authorizationGroupId: String(args.authorizationGroupId), documents: args.documents, manifest: args.manifest }),
  }),
  removeTrustedDocuments: t.stringList({
    description: 'Removes documents from a group’s trusted set by id (`sha256:…` or a manifest id); returns the `sha256:` ids removed. Needs a session with authorization_groups:manage.',
    args: {
      authorizationGroupId: t.arg.id({ required: true, description: 'The group.' }),
      ids: t.arg.stringList({ required: true, description: 'The ids of the documents to remove.' }),
    },
    authScopes: { can: 'trusted_document:manage' },
    resolve: (_root, args, { auth }) => removeTrustedDocuments(auth, String(args.authorizationGroupId), args.ids),
  }),
}));
