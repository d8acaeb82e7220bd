import { GitCompare } from 'lucide-react'
import { cn } from '../../lib/cn'
import type { Experiment } from '../../lib/types'

/** Toggles earlier runs to draw behind the watched one. */
export function OverlayPicker({
  experiments,
  currentId,
  selected,
  onChange,
}: {
  experiments: readonly Experiment[]
  currentId: number
  selected: readonly number[]
  onChange: (ids: number[]) => void
}) {
  const others = experiments.filter((e) => e.id !== currentId).sort((a, b) => b.id - a.id).slice(0, 8)
  if (!others.length) return null
  return (
    <div className="flex flex-wrap items-center gap-2" role="group" aria-label="Overlay earlier runs on the charts">
      <span className="inline-flex items-center gap-1.5 text-xs text-muted">
        <GitCompare className="size-3.5" aria-hidden /> Overlay:
      </span>
      {others.map((e) => {
        const on = selected.includes(e.id)
        return (
          <button
            key={e.id}
            type="button"
            aria-pressed={on}
            onClick={() => onChange(on ? selected.filter((id) => id !== e.id) : [...selected, e.id])}
            className={cn(
              'max-w-[14rem] truncate rounded-full border px-2.5 py-1 text-xs font-medium transition-colors',
              on ? 'border-violet/50 bg-violet/15 text-fg' : 'border-line-strong/50 text-muted hover:text-fg',
            )}
          >
            #{e.id} {e.name}
          </button>
        )
      })}
    </div>
  )
}
