import {
  AlertTriangle,
  Check,
  CircleDot,
  Coins,
  Flag,
  Flame,
  Inbox,
  Info,
  Layers,
  Link,
  Pause,
  Play,
  Send,
  ShieldMinus,
  ShieldX,
  Square,
  Swords,
  UserPlus,
  X,
  type LucideIcon,
} from 'lucide-react'
import type { LogIcon as LogIconName, LogTone } from '../../lib/log-format'
import { cn } from '../../lib/cn'
import { TONE_RING, TONE_TEXT } from './tones'

const ICONS: Record<LogIconName, LucideIcon> = {
  play: Play,
  pause: Pause,
  stop: Square,
  flag: Flag,
  'circle-dot': CircleDot,
  inbox: Inbox,
  check: Check,
  x: X,
  'shield-minus': ShieldMinus,
  'shield-x': ShieldX,
  layers: Layers,
  coins: Coins,
  flame: Flame,
  send: Send,
  link: Link,
  alert: AlertTriangle,
  swords: Swords,
  'user-plus': UserPlus,
  info: Info,
}

export function LogIcon({ icon, tone, className }: { icon: LogIconName; tone: LogTone; className?: string }) {
  const Icon = ICONS[icon]
  return (
    <span className={cn('grid size-7 shrink-0 place-items-center rounded-lg ring-1', TONE_RING[tone], className)} aria-hidden>
      <Icon className={cn('size-3.5', TONE_TEXT[tone])} />
    </span>
  )
}
