import { ShieldCheck, ShieldMinus, ShieldX, type LucideIcon } from 'lucide-react'
import { cn } from '../../lib/cn'
import { OUTCOME_META, OUTCOMES, type OutcomeCounts } from '../../lib/outcomes'
import type { Outcome } from '../../lib/types'
import { Badge } from './badge'

/** A distinct shape per outcome (check, minus, cross), so no one has to tell amber from red. */
export const OUTCOME_ICON: Record<Outcome, LucideIcon> = {
  accepted: ShieldCheck,
  excluded: ShieldMinus,
  slashed: ShieldX,
}

export const OUTCOME_TEXT: Record<Outcome, string> = {
  accepted: 'text-ok',
  excluded: 'text-warn',
  slashed: 'text-bad',
}

/** An outcome as a badge: its icon and its word. */
export function OutcomeBadge({ outcome, className }: { outcome: Outcome; className?: string }) {
  const meta = OUTCOME_META[outcome]
  const Icon = OUTCOME_ICON[outcome]
  return (
    <Badge tone={meta.tone} className={className} data-outcome={outcome} title={meta.meaning}>
      <Icon aria-hidden /> {meta.label}
    </Badge>
  )
}

/**
 * The three counts side by side, each with its icon and word: "✓ 7 accepted · − 2 excluded · ✗ 1 slashed".
 * Compact (for table cells) keeps the words for screen readers and as a tooltip; the icons' shapes still differ.
 */
export function OutcomeCountList({
  counts,
  className,
  label,
  compact,
}: {
  counts: OutcomeCounts
  className?: string
  label?: string
  compact?: boolean
}) {
  return (
    <ul className={cn('flex flex-wrap items-center gap-y-1 text-xs', compact ? 'gap-x-2' : 'gap-x-3', className)} aria-label={label}>
      {OUTCOMES.map((o) => {
        const Icon = OUTCOME_ICON[o]
        return (
          <li key={o} className="inline-flex items-center gap-1" data-outcome-count={o} title={compact ? `${counts[o]} ${o}` : undefined}>
            <Icon className={cn('size-3.5 shrink-0', OUTCOME_TEXT[o])} aria-hidden />
            <span className="tabular font-mono font-semibold text-fg">{counts[o]}</span>
            <span className={compact ? 'sr-only' : 'text-muted'}>{o}</span>
          </li>
        )
      })}
    </ul>
  )
}
