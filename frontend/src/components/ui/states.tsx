/** Loading, empty and error states: every panel shows one of these instead of a blank. */
import { AlertTriangle, Inbox, RotateCw } from 'lucide-react'
import type { ReactNode } from 'react'
import { errorMessage } from '../../lib/api'
import { cn } from '../../lib/cn'
import { Button } from './button'

export function Skeleton({ className }: { className?: string }) {
  return <div className={cn('animate-pulse-soft rounded-md bg-surface-3', className)} aria-hidden />
}

export function LoadingState({ label = 'Loading…', rows = 3, className }: { label?: string; rows?: number; className?: string }) {
  return (
    <div role="status" aria-live="polite" className={cn('space-y-2', className)}>
      <span className="sr-only">{label}</span>
      {Array.from({ length: rows }, (_, i) => (
        <Skeleton key={i} className={cn('h-4', i % 2 ? 'w-3/4' : 'w-full')} />
      ))}
    </div>
  )
}

export function EmptyState({
  title,
  children,
  icon,
  action,
  className,
}: {
  title: string
  children?: ReactNode
  icon?: ReactNode
  action?: ReactNode
  className?: string
}) {
  return (
    <div className={cn('flex flex-col items-center justify-center gap-2 rounded-xl border border-dashed border-line-strong/60 px-4 py-8 text-center', className)}>
      <span className="text-faint [&_svg]:size-6" aria-hidden>{icon ?? <Inbox />}</span>
      <p className="text-sm font-medium text-fg">{title}</p>
      {children && <div className="max-w-md text-sm text-muted">{children}</div>}
      {action}
    </div>
  )
}

export function ErrorState({
  error,
  title = 'Could not load this',
  onRetry,
  className,
}: {
  error: unknown
  title?: string
  onRetry?: () => void
  className?: string
}) {
  return (
    <div role="alert" className={cn('flex flex-wrap items-start gap-3 rounded-xl border border-bad/30 bg-bad/10 px-4 py-3', className)}>
      <AlertTriangle className="mt-0.5 size-4 shrink-0 text-bad" aria-hidden />
      <div className="min-w-0 flex-1">
        <p className="text-sm font-medium text-bad">{title}</p>
        <p className="text-sm break-words text-muted">{errorMessage(error)}</p>
      </div>
      {onRetry && (
        <Button size="sm" variant="secondary" onClick={onRetry}>
          <RotateCw aria-hidden /> Retry
        </Button>
      )}
    </div>
  )
}

export function InlineError({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <p role="alert" className={cn('flex items-start gap-1.5 text-sm text-bad', className)}>
      <AlertTriangle className="mt-0.5 size-3.5 shrink-0" aria-hidden />
      <span className="min-w-0 break-words">{children}</span>
    </p>
  )
}
