import type { ComponentProps, ReactNode } from 'react'
import { cn } from '../../lib/cn'

export function Card({ className, live, ...props }: ComponentProps<'section'> & { live?: boolean }) {
  return <section className={cn('glass rounded-2xl', live && 'glow-live', className)} {...props} />
}

export function CardHeader({
  title,
  icon,
  description,
  actions,
  id,
  className,
}: {
  title: ReactNode
  icon?: ReactNode
  description?: ReactNode
  actions?: ReactNode
  id?: string
  className?: string
}) {
  return (
    <header className={cn('flex flex-wrap items-start justify-between gap-3 px-5 pt-4 pb-3', className)}>
      <div className="min-w-0">
        <h2 id={id} className="flex items-center gap-2 text-sm font-semibold tracking-wide text-fg">
          {icon && <span className="text-accent [&_svg]:size-4" aria-hidden>{icon}</span>}
          {title}
        </h2>
        {description && <p className="mt-0.5 text-xs text-muted">{description}</p>}
      </div>
      {actions && <div className="flex flex-wrap items-center gap-2">{actions}</div>}
    </header>
  )
}

export function CardBody({ className, ...props }: ComponentProps<'div'>) {
  return <div className={cn('px-5 pb-5', className)} {...props} />
}
