/** Tailwind classes per log tone (icons and labels share them). */
import type { LogTone } from '../../lib/log-format'

export const TONE_TEXT: Record<LogTone, string> = {
  ok: 'text-ok',
  bad: 'text-bad',
  warn: 'text-warn',
  info: 'text-info',
  accent: 'text-accent',
  neutral: 'text-muted',
}

export const TONE_RING: Record<LogTone, string> = {
  ok: 'bg-ok/12 ring-ok/30',
  bad: 'bg-bad/12 ring-bad/35',
  warn: 'bg-warn/12 ring-warn/30',
  info: 'bg-info/12 ring-info/30',
  accent: 'bg-accent/12 ring-accent/30',
  neutral: 'bg-surface-3 ring-line-strong/40',
}
