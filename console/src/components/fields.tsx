/**
 * Labelled form controls. Each control has a <label>; an error is tied to it with
 * aria-describedby and aria-invalid, so a screen reader reads it with the field.
 */
import { useState, type ReactNode } from 'react';

type Common = { id: string; label: string; error?: string | undefined; hint?: string; required?: boolean };

function Described({ id, label, error, hint, required, children }: Common & { children: ReactNode }) {
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>
        {label}
        {required ? <span aria-hidden="true"> *</span> : null}
      </label>
      {children}
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

function describedBy({ id, error, hint }: Common): { 'aria-describedby'?: string; 'aria-invalid'?: true } {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return { ...(ids ? { 'aria-describedby': ids } : {}), ...(error ? { 'aria-invalid': true } : {}) };
}

export function TextField(props: Common & { value: string; onChange: (value: string) => void; type?: string; autoComplete?: string; min?: string }) {
  const { id, value, onChange, type = 'text', required, autoComplete, min } = props;
  return (
    <Described {...props}>
      <input
        id={id}
        name={id}
        type={type}
        value={value}
        min={min}
        required={required}
        aria-required={required || undefined}
        autoComplete={autoComplete ?? 'off'}
        onChange={(e) => onChange(e.target.value)}
        {...describedBy(props)}
      />
    </Described>
  );
}

export function TextArea(props: Common & { value: string; onChange: (value: string) => void; rows?: number }) {
  const { id, value, onChange, rows = 3 } = props;
  return (
    <Described {...props}>
      <textarea id={id} name={id} rows={rows} value={value} onChange={(e) => onChange(e.target.value)} {...describedBy(props)} />
    </Described>
  );
}

export type Option = { value: string; label: string };

export function SelectField(props: Common & { value: string; onChange: (value: string) => void; options: Option[]; placeholder?: string }) {
  const { id, value, onChange, options, placeholder, required } = props;
  return (
    <Described {...props}>
      <select id={id} name={id} value={value} required={required} aria-required={required || undefined} onChange={(e) => onChange(e.target.value)} {...describedBy(props)}>
        {placeholder !== undefined ? <option value="">{placeholder}</option> : null}
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </Described>
  );
}

/** How long a rotated secret keeps working: the API's gracePeriodMinutes (1–1440), or none. */
const GRACE_PERIODS: Option[] = [
  { value: '', label: 'Not at all: it stops at once' },
  { value: '15', label: '15 minutes' },
  { value: '60', label: '1 hour' },
  { value: '1440', label: '24 hours' },
];

export function GracePeriodField(props: Omit<Common, 'label'> & { label?: string; value: string; onChange: (value: string) => void }) {
  return <SelectField label="The current secret keeps working" {...props} options={GRACE_PERIODS} />;
}

/** The chosen grace for the API: minutes, or undefined for none. */
export function graceMinutes(value: string): number | undefined {
  return value ? Number(value) : undefined;
}

/** A grace's label in a sentence ("for 1 hour"). */
export function graceLabel(value: string): string {
  return GRACE_PERIODS.find((option) => option.value === value)?.label ?? '';
}

export function FormAlert({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p className="form-alert" role="alert">
      {message}
    </p>
  );
}

/**
 * A select's value that stays one of `values`: the pick while it is still offered (it may have
 * been deleted since), else the first. For choices that load or change while the form is open.
 */
export function useListedChoice(values: readonly string[]): [string, (value: string) => void] {
  const [picked, setPicked] = useState(values[0] ?? '');
  return [values.includes(picked) ? picked : (values[0] ?? ''), setPicked];
}
