import { useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { FormAlert, TextField } from '../components/fields';
import { formErrors } from '../errors';
import { graphql } from '../gql';
import type { Session } from '../session';

const SignInMutation = graphql(`
  mutation ConsoleSignIn($email: String!, $password: String!, $tenant: String) {
    signIn(email: $email, password: $password, tenant: $tenant) {
      token
      expiresAt
    }
  }
`);

export function SignIn({ onSignedIn, notice }: { onSignedIn: (session: Session) => void; notice: string | null }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [tenant, setTenant] = useState('');
  const [result, signIn] = useMutation(SignInMutation);
  const errors = formErrors(result.error, ['email', 'password', 'tenant']);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const answer = await signIn({ email, password, tenant: tenant.trim() || null });
    if (answer.data) onSignedIn(answer.data.signIn);
  }

  return (
    <main className="sign-in">
      <h1>keygate console</h1>
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <form onSubmit={submit} aria-label="Sign in" noValidate>
        <FormAlert message={errors.general} />
        <TextField id="email" label="Email" type="email" autoComplete="username" value={email} onChange={setEmail} required error={errors.fields.email} />
        <TextField id="password" label="Password" type="password" autoComplete="current-password" value={password} onChange={setPassword} required error={errors.fields.password} />
        <TextField
          id="tenant"
          label="Tenant slug"
          hint="Only needed when the same email and password belong to several tenants."
          value={tenant}
          onChange={setTenant}
          error={errors.fields.tenant}
        />
        <button type="submit" className="primary" disabled={result.fetching}>
          Sign in
        </button>
      </form>
    </main>
  );
}
