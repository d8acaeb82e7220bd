import { Radio, WifiOff } from 'lucide-react'
import { useEventStream } from '../../lib/event-stream'
import { cn } from '../../lib/cn'

/** The live stream's state in words and an icon: Live, Connecting…, Reconnecting… */
export function StreamStatus({ className }: { className?: string }) {
  const { status } = useEventStream()
  const live = status === 'live'
  const text = live ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Reconnecting…'
  return (
    <span
      role="status"
      aria-live="polite"
      data-stream-status={status}
      className={cn(
        'inline-flex items-center gap-1.5 rounded-full border px-2.5 py-1 text-xs font-medium',
        live ? 'border-ok/30 bg-ok/10 text-ok' : 'border-warn/30 bg-warn/10 text-warn',
        className,
      )}
    >
      {live ? (
        <span className="relative flex size-2" aria-hidden>
          <span className="absolute inline-flex size-full animate-ping rounded-full bg-ok opacity-60 motion-reduce:hidden" />
          <span className="relative inline-flex size-2 rounded-full bg-ok" />
        </span>
      ) : status === 'connecting' ? (
        <Radio className="size-3.5 animate-pulse-soft" aria-hidden />
      ) : (
        <WifiOff className="size-3.5 animate-pulse-soft" aria-hidden />
      )}
      <span>
        <span className="sr-only">Event stream: </span>
        {text}
      </span>
    </span>
  )
}
