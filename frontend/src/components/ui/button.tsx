import { cva, type VariantProps } from 'class-variance-authority'
import { LoaderCircle } from 'lucide-react'
import type { ComponentProps } from 'react'
import { cn } from '../../lib/cn'

export const buttonVariants = cva(
  'inline-flex items-center justify-center gap-2 rounded-lg font-medium whitespace-nowrap transition-[background-color,box-shadow,color,opacity] focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-accent disabled:cursor-not-allowed disabled:opacity-55 [&_svg]:size-4 [&_svg]:shrink-0',
  {
    variants: {
      variant: {
        primary: 'bg-accent text-on-accent shadow-[0_0_24px_-6px_rgb(34_211_238/0.6)] hover:bg-[#5fe0f3]',
        secondary: 'border border-line-strong/70 bg-surface-3 text-fg hover:bg-surface-4',
        ghost: 'text-muted hover:bg-surface-3 hover:text-fg',
        danger: 'bg-bad text-on-accent hover:bg-[#fea3b0]',
        success: 'bg-ok text-on-accent hover:bg-[#6ee7b7]',
      },
      size: {
        sm: 'h-8 px-3 text-sm',
        md: 'h-10 px-4 text-sm',
        lg: 'h-12 px-6 text-base',
        icon: 'size-9',
      },
    },
    defaultVariants: { variant: 'secondary', size: 'md' },
  },
)

export interface ButtonProps extends ComponentProps<'button'>, VariantProps<typeof buttonVariants> {
  busy?: boolean
}

export function Button({ className, variant, size, busy, disabled, children, type = 'button', ...props }: ButtonProps) {
  return (
    <button
      type={type}
      className={cn(buttonVariants({ variant, size }), className)}
      disabled={disabled || busy}
      aria-busy={busy || undefined}
      {...props}
    >
      {busy && <LoaderCircle className="animate-spin" aria-hidden />}
      {children}
    </button>
  )
}

export function LinkButton({
  className,
  variant,
  size,
  ...props
}: ComponentProps<'a'> & VariantProps<typeof buttonVariants>) {
  // Content comes in through props.children.
  // oxlint-disable-next-line jsx-a11y/anchor-has-content
  return <a className={cn(buttonVariants({ variant, size }), className)} {...props} />
}
