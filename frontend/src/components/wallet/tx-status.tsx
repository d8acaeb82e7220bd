import { CircleCheck, CircleDashed, CircleX, LoaderCircle, MinusCircle, PenLine } from 'lucide-react'
import { cn } from '../../lib/cn'
import { shortHex } from '../../lib/numbers'
import type { TxStepState } from '../../lib/use-tx-flow'

const TEXT = {
  waiting: 'Waiting',
  signing: 'Confirm in your wallet…',
  pending: 'Pending…',
  confirmed: 'Confirmed',
  failed: 'Failed',
  skipped: 'Not needed',
} as const

/** Each transaction of a flow: pending, confirmed or failed (with the decoded reason), by icon and words. */
export function TxStatus({ steps }: { steps: readonly TxStepState[] }) {
  if (!steps.length) return null
  return (
    <ol className="space-y-2" aria-label="Transactions" aria-live="polite">
      {steps.map((step) => (
        <li
          key={step.key}
          data-tx-step={step.key}
          data-status={step.status}
          className={cn(
            'rounded-lg border px-3 py-2 text-sm',
            step.status === 'failed' ? 'border-bad/40 bg-bad/10' : step.status === 'confirmed' ? 'border-ok/30 bg-ok/10' : 'border-line-strong/50 bg-surface-2',
          )}
        >
          <div className="flex flex-wrap items-center gap-2">
            {step.status === 'confirmed' ? (
              <CircleCheck className="size-4 text-ok" aria-hidden />
            ) : step.status === 'failed' ? (
              <CircleX className="size-4 text-bad" aria-hidden />
            ) : step.status === 'pending' ? (
              <LoaderCircle className="size-4 animate-spin text-accent" aria-hidden />
            ) : step.status === 'signing' ? (
              <PenLine className="size-4 animate-pulse-soft text-warn" aria-hidden />
            ) : step.status === 'skipped' ? (
              <MinusCircle className="size-4 text-faint" aria-hidden />
            ) : (
              <CircleDashed className="size-4 text-faint" aria-hidden />
            )}
            <span className="font-medium text-fg">{step.label}</span>
            <span
              className={cn(
                'text-xs',
                step.status === 'failed' ? 'text-bad' : step.status === 'confirmed' ? 'text-ok' : 'text-muted',
              )}
            >
              {TEXT[step.status]}
              {step.status === 'confirmed' && step.blockNumber !== undefined && ` in block ${step.blockNumber}`}
            </span>
            {step.hash && (
              <span className="ml-auto font-mono text-xs text-muted" title={step.hash}>
                tx {shortHex(step.hash)}
              </span>
            )}
          </div>
          {step.error && (
            <div role="alert" className="mt-1.5 space-y-0.5">
              <p className="text-sm text-bad">{step.error.message}</p>
              {step.error.short !== step.error.message && (
                <p className="font-mono text-xs break-words text-muted">{step.error.short}</p>
              )}
            </div>
          )}
        </li>
      ))}
    </ol>
  )
}
