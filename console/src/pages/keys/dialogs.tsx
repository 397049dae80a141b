/** The one-time secret, rotate and revoke dialogs, worded as the seeds word them. */
import { useRef, useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { ConfirmDialog, DangerActions, Dialog } from '../../components/Dialog';
import { FormAlert, GracePeriodField, graceLabel, graceMinutes, SelectField } from '../../components/fields';
import { errorText, formErrors } from '../../errors';
import type { ExpiresIn } from '../../gql/graphql';
import { RevokeKeyMutation, RotateKeyMutation } from './queries';
import type { Key } from './types';

/**
 * Shows a secret once. It lives only in this component's props: closing the dialog drops it,
 * and the list shows the key's prefix from then on.
 */
export function SecretDialog({ title, secret, onClose }: { title: string; secret: string; onClose: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied to the clipboard.');
    } catch {
      // No clipboard permission: select the text so Ctrl+C copies it.
      const field = document.getElementById('secret-value') as HTMLInputElement | null;
      field?.select();
      setCopied('Press Ctrl+C (⌘C) to copy the selected secret.');
    }
  }
  return (
    <Dialog title={title} onClose={onClose} className="wide">
      <p className="warning">
        Copy it now; it will not be shown again. This is the only time the full value is displayed: store it in a vault or your integration’s secret store.
      </p>
      <div className="secret">
        <label htmlFor="secret-value">Secret</label>
        <input id="secret-value" readOnly value={secret} spellCheck={false} onFocus={(e) => e.target.select()} />
        <button type="button" onClick={copy}>
          Copy secret
        </button>
      </div>
      <p role="status" className="hint">
        {copied ?? ''}
      </p>
      <div className="actions">
        <button type="button" className="primary" onClick={onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}

export function RotateDialog({ apiKey, onClose, onRotated }: { apiKey: Key; onClose: () => void; onRotated: (secret: string) => void }) {
  const [expiry, setExpiry] = useState<ExpiresIn | 'KEEP'>('KEEP');
  const [grace, setGrace] = useState('');
  const [result, rotate] = useMutation(RotateKeyMutation);
  // A tenant's key policy refuses an expiry by `expiresIn` or `expiresAt` (the one it keeps).
  const errors = formErrors(result.error, ['expiresIn', 'expiresAt', 'gracePeriodMinutes']);
  async function submit(event: FormEvent) {
    event.preventDefault();
    const input = { ...(expiry === 'KEEP' ? {} : { expiresIn: expiry }), gracePeriodMinutes: graceMinutes(grace) };
    const answer = await rotate({ id: apiKey.id, input });
    if (answer.data) onRotated(answer.data.rotateApiKey.secret);
  }
  return (
    <Dialog title={`Rotate API Key ${apiKey.name}`} onClose={onClose}>
      <form onSubmit={submit} aria-label="Rotate API Key">
        <p>Rotating generates a new secret for this key while keeping its name, authorization group, and other configuration unchanged.</p>
        <p className="warning">
          {grace
            ? `Applications using the current secret keep access for ${graceLabel(grace)}, then lose it: move them to the new secret within that time. Rotation is irreversible.`
            : 'All applications using the current secret will lose access immediately. Rotation is irreversible — the old secret is invalidated the moment the new one is issued.'}
        </p>
        <GracePeriodField id="rotate-grace" value={grace} onChange={setGrace} error={errors.fields.gracePeriodMinutes} />
        <SelectField
          id="rotate-expiry"
          label="Expiration"
          value={expiry}
          onChange={(v) => setExpiry(v as ExpiresIn | 'KEEP')}
          options={[
            { value: 'KEEP', label: 'Keep the current expiry' },
            { value: 'NEVER', label: 'Never expires' },
            { value: 'DAYS_7', label: 'In 7 days' },
            { value: 'DAYS_30', label: 'In 30 days' },
            { value: 'DAYS_60', label: 'In 60 days' },
            { value: 'DAYS_90', label: 'In 90 days' },
          ]}
          error={errors.fields.expiresIn ?? errors.fields.expiresAt}
        />
        <FormAlert message={errors.general} />
        <DangerActions confirmLabel="Rotate" busy={result.fetching} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

export function RevokeDialog({ apiKey, onClose, onRevoked }: { apiKey: Key; onClose: () => void; onRevoked: () => void }) {
  const [result, revoke] = useMutation(RevokeKeyMutation);
  // Revoked, the key's Revoke button (the opener) goes with the list's reload: focus the page instead.
  const revoked = useRef(false);
  return (
    <ConfirmDialog
      title="Revoke API Key"
      formLabel="Revoke API Key"
      warning={`Are you sure you want to revoke the API key ${apiKey.name}? This action cannot be undone and any applications using this key will lose access immediately.`}
      confirmLabel="Revoke"
      error={errorText(result.error)}
      busy={result.fetching}
      onConfirm={async () => {
        if (!(await revoke({ id: apiKey.id })).data) return;
        revoked.current = true;
        onRevoked();
      }}
      onClose={onClose}
      focusAfter={() => (revoked.current ? document.getElementById('main') : null)}
    />
  );
}
