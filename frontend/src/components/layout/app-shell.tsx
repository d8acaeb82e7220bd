import { FlaskConical, History, LayoutDashboard, Menu, Search, ShieldCheck, Swords, Wallet, X } from 'lucide-react'
import { type ReactNode, useEffect, useState } from 'react'
import { cn } from '../../lib/cn'
import { useDeployment } from '../../lib/deployment'
import { routeHref, useRoute, type View } from '../../lib/router'
import { ConnectionPill } from '../wallet/connection-pill'
import { AdminTokenPrompt } from './admin-token-prompt'
import { ChainStatus } from './chain-status'
import { ExperimentPicker } from './experiment-picker'
import { StreamStatus } from './stream-status'

const NAV: { view: View; label: string; icon: ReactNode }[] = [
  { view: 'overview', label: 'Overview', icon: <LayoutDashboard /> },
  { view: 'attack-lab', label: 'Attack Lab', icon: <Swords /> },
  { view: 'wallet', label: 'Wallet', icon: <Wallet /> },
  { view: 'explorer', label: 'Explorer', icon: <Search /> },
  { view: 'experiments', label: 'Experiments', icon: <History /> },
]

function NavLinks({ current, onNavigate }: { current: View; onNavigate?: () => void }) {
  return (
    <ul className="space-y-1">
      {NAV.map((item) => {
        const active = item.view === current
        return (
          <li key={item.view}>
            <a
              href={routeHref(item.view)}
              onClick={onNavigate}
              aria-current={active ? 'page' : undefined}
              className={cn(
                'flex items-center gap-3 rounded-lg px-3 py-2 text-sm font-medium transition-colors [&_svg]:size-4',
                active
                  ? 'bg-accent/12 text-fg shadow-[inset_2px_0_0_0_var(--color-accent)]'
                  : 'text-muted hover:bg-surface-3 hover:text-fg',
              )}
            >
              <span className={active ? 'text-accent' : ''} aria-hidden>
                {item.icon}
              </span>
              {item.label}
            </a>
          </li>
        )
      })}
    </ul>
  )
}

function Brand() {
  return (
    <a href={routeHref('overview')} className="flex items-center gap-2.5 rounded-lg">
      <span className="grid size-9 place-items-center rounded-xl bg-gradient-to-br from-accent/25 to-violet/25 ring-1 ring-accent/40">
        <ShieldCheck className="size-5 text-accent" aria-hidden />
      </span>
      <span className="leading-tight">
        <span className="block text-base font-semibold tracking-tight">
          Fed<span className="text-gradient">Shield</span>
        </span>
        <span className="block text-[11px] text-faint">defended federated learning</span>
      </span>
    </a>
  )
}

export function AppShell({ children }: { children: ReactNode }) {
  const { view } = useRoute()
  const [menuOpen, setMenuOpen] = useState(false)
  const [menuView, setMenuView] = useState(view)
  const { status, error, abiWarnings, retry } = useDeployment()
  if (menuView !== view) {
    // Navigating (by any link) closes the phone menu.
    setMenuView(view)
    setMenuOpen(false)
  }
  useEffect(() => {
    const title = NAV.find((n) => n.view === view)?.label ?? 'Overview'
    document.title = `${title} · FedShield`
  }, [view])

  return (
    <div className="min-h-dvh lg:grid lg:grid-cols-[15rem_1fr]">
      <a
        href="#main"
        onClick={(e) => {
          e.preventDefault()
          document.getElementById('main')?.focus()
        }}
        className="sr-only-focusable fixed top-2 left-2 z-50 rounded-lg bg-accent px-3 py-2 text-on-accent"
      >
        Skip to content
      </a>
      <aside className="sticky top-0 hidden h-dvh flex-col gap-6 border-r border-line/70 bg-surface/60 px-4 py-5 backdrop-blur-xl lg:flex">
        <Brand />
        <nav aria-label="Main">
          <NavLinks current={view} />
        </nav>
        <div className="mt-auto space-y-2 text-xs text-faint">
          <p>
            <FlaskConical className="mr-1 inline size-3.5" aria-hidden />
            Updates screened, rounds settled on chain.
          </p>
        </div>
      </aside>

      <div className="min-w-0">
        <header className="sticky top-0 z-30 border-b border-line/70 bg-bg/75 backdrop-blur-xl">
          <div className="flex items-center gap-2 px-4 py-3 sm:px-6">
            <div className="lg:hidden">
              <Brand />
            </div>
            <div className="ml-auto flex min-w-0 items-center gap-2">
              <ExperimentPicker className="hidden h-9 w-72 md:block xl:w-96" />
              <StreamStatus />
              <ChainStatus className="hidden sm:inline-flex" />
              <ConnectionPill className="hidden sm:inline-flex" />
              <button
                type="button"
                className="grid size-10 place-items-center rounded-lg text-muted hover:bg-surface-3 hover:text-fg lg:hidden"
                aria-expanded={menuOpen}
                aria-controls="mobile-nav"
                aria-label={menuOpen ? 'Close menu' : 'Open menu'}
                onClick={() => setMenuOpen((o) => !o)}
              >
                {menuOpen ? <X className="size-5" aria-hidden /> : <Menu className="size-5" aria-hidden />}
              </button>
            </div>
          </div>
          {menuOpen && (
            <nav id="mobile-nav" aria-label="Main" className="space-y-3 border-t border-line/70 px-4 py-3 lg:hidden">
              <NavLinks current={view} onNavigate={() => setMenuOpen(false)} />
              <ExperimentPicker className="md:hidden" />
              <div className="flex flex-wrap gap-2 sm:hidden">
                <ChainStatus />
                <ConnectionPill />
              </div>
            </nav>
          )}
        </header>

        <main id="main" tabIndex={-1} className="mx-auto w-full max-w-[1600px] space-y-5 px-4 py-5 outline-none sm:px-6 sm:py-6">
          <AdminTokenPrompt />
          {status === 'unavailable' && (
            <div role="alert" className="flex flex-wrap items-center gap-3 rounded-xl border border-warn/30 bg-warn/10 px-4 py-3 text-sm">
              <span className="font-medium text-warn">Chain deployment unavailable.</span>
              <span className="text-muted">
                {error ?? 'The orchestrator has no deployment yet.'} Balances and stakes cannot be read from the chain until it is.
              </span>
              <button type="button" onClick={retry} className="ml-auto rounded-md px-2 py-1 text-warn underline underline-offset-2 hover:bg-warn/10">
                Retry
              </button>
            </div>
          )}
          {abiWarnings.length > 0 && (
            <div role="alert" className="rounded-xl border border-warn/30 bg-warn/10 px-4 py-3 text-sm text-warn">
              The deployed contracts' ABI lacks what this dashboard calls: {abiWarnings.join('; ')}.
            </div>
          )}
          {children}
        </main>
      </div>
    </div>
  )
}
