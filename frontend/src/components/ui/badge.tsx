import { cva, type VariantProps } from 'class-variance-authority'
import type { ComponentProps } from 'react'
import { cn } from '../../lib/cn'

export const badgeVariants = cva(
  'inline-flex items-center gap-1 rounded-full border px-2 py-0.5 text-xs font-medium whitespace-nowrap [&_svg]:size-3.5',
  {
    variants: {
      tone: {
        ok: 'border-ok/30 bg-ok/15 text-ok',
        bad: 'border-bad/30 bg-bad/15 text-bad',
        warn: 'border-warn/30 bg-warn/15 text-warn',
        info: 'border-info/30 bg-info/15 text-info',
        accent: 'border-accent/30 bg-accent/15 text-accent',
        violet: 'border-violet/30 bg-violet/15 text-violet',
        neutral: 'border-line-strong/50 bg-surface-3 text-muted',
      },
    },
    defaultVariants: { tone: 'neutral' },
  },
)

export function Badge({ className, tone, ...props }: ComponentProps<'span'> & VariantProps<typeof badgeVariants>) {
  return <span className={cn(badgeVariants({ tone }), className)} {...props} />
}
