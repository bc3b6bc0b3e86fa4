import { useEffect, useRef } from 'react';

/** A drop-down of checkboxes (a <details>), closed again by a click elsewhere or Escape. */
export function MultiSelect<T extends string>(props: {
  label: string;
  options: readonly { value: T; label: string }[];
  selected: readonly T[];
  onChange: (selected: T[]) => void;
  allLabel: string;
  countLabel: (n: number) => string;
  testId?: string;
}) {
  const ref = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    const close = (e: Event) => {
      const el = ref.current;
      if (!el || !el.open) return;
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !el.contains(e.target as Node)) el.open = false;
    };
    document.addEventListener('pointerdown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('pointerdown', close);
      document.removeEventListener('keydown', close);
    };
  }, []);
  const { selected } = props;
  const summary =
    selected.length === 0
      ? props.allLabel
      : selected.length === 1
        ? (props.options.find((o) => o.value === selected[0])?.label ?? props.countLabel(1))
        : props.countLabel(selected.length);
  return (
    <details className="multi-select" ref={ref} data-testid={props.testId}>
      <summary aria-label={props.label}>{summary}</summary>
      <div className="multi-options">
        {props.options.map((o) => (
          <label key={o.value} className="check">
            <input
              type="checkbox"
              value={o.value}
              checked={selected.includes(o.value)}
              onChange={(e) => props.onChange(e.target.checked ? [...selected, o.value] : selected.filter((v) => v !== o.value))}
            />
            <span>{o.label}</span>
          </label>
        ))}
        {selected.length ? (
          <button type="button" className="link-button" onClick={() => props.onChange([])}>
            {props.allLabel}
          </button>
        ) : null}
      </div>
    </details>
  );
}
