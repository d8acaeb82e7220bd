import { useId } from 'react'
import { cn } from '../../lib/cn'

/** A labelled slider with its value in words; arrow keys step it, Home/End jump to the ends. */
export function RangeField({
  label,
  value,
  min,
  max,
  step,
  onChange,
  format = (v) => String(v),
  hint,
  disabled,
  name,
}: {
  label: string
  value: number
  min: number
  max: number
  step: number
  onChange: (value: number) => void
  format?: (value: number) => string
  hint?: string
  disabled?: boolean
  name?: string
}) {
  const id = useId()
  const pct = max > min ? ((value - min) / (max - min)) * 100 : 0
  return (
    <div className={cn('space-y-2', disabled && 'opacity-55')}>
      <div className="flex items-baseline justify-between gap-2">
        <label htmlFor={id} className="text-sm font-medium text-fg">
          {label}
        </label>
        <output htmlFor={id} className="tabular font-mono text-sm font-semibold text-accent">
          {format(value)}
        </output>
      </div>
      <input
        id={id}
        name={name}
        type="range"
        min={min}
        max={max}
        step={step}
        value={value}
        disabled={disabled}
        aria-valuetext={format(value)}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={(e) => onChange(Number(e.target.value))}
        className="range-input h-2 w-full cursor-pointer appearance-none rounded-full bg-surface-4 disabled:cursor-not-allowed"
        style={{
          background: `linear-gradient(90deg, var(--color-accent) 0%, var(--color-violet) ${pct}%, var(--color-surface-4) ${pct}%)`,
        }}
      />
      {hint && (
        <p id={`${id}-hint`} className="text-xs text-faint">
          {hint}
        </p>
      )}
    </div>
  )
}
