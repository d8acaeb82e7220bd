import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { ShieldCheck } from 'lucide-react'
import { lazy, Suspense, useState } from 'react'
import { AppShell } from './components/layout/app-shell'
import { LoadingState } from './components/ui/states'
import { ApiError } from './lib/api'
import { DeploymentProvider } from './lib/deployment'
import { EventStreamProvider } from './lib/event-stream'
import { SelectedExperimentProvider } from './lib/experiments'
import { useRoute, type View } from './lib/router'
import { OverviewView } from './views/overview-view'

// The Overview is the landing view; the others load when first opened.
const AttackLabView = lazy(() => import('./views/attack-lab-view'))
const WalletView = lazy(() => import('./views/wallet-view'))
const ExplorerView = lazy(() => import('./views/explorer-view'))
const ExperimentsView = lazy(() => import('./views/experiments-view'))

function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        refetchOnWindowFocus: true,
        // 4xx answers will not change on retry; network errors and 5xx get two more tries.
        retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
      },
    },
  })
}

function CurrentView({ view }: { view: View }) {
  switch (view) {
    case 'attack-lab':
      return <AttackLabView />
    case 'wallet':
      return <WalletView />
    case 'explorer':
      return <ExplorerView />
    case 'experiments':
      return <ExperimentsView />
    default:
      return <OverviewView />
  }
}

function Splash() {
  return (
    <div className="grid min-h-dvh place-items-center">
      <div className="flex flex-col items-center gap-3 text-muted" role="status">
        <ShieldCheck className="size-10 animate-pulse-soft text-accent" aria-hidden />
        <span className="text-sm">Connecting to the orchestrator…</span>
      </div>
    </div>
  )
}

export function App() {
  const [queryClient] = useState(makeQueryClient)
  const { view } = useRoute()
  return (
    <QueryClientProvider client={queryClient}>
      <DeploymentProvider fallback={<Splash />}>
        <EventStreamProvider>
          <SelectedExperimentProvider>
            <AppShell>
              <Suspense fallback={<LoadingState label="Loading view…" rows={6} />}>
                <CurrentView view={view} />
              </Suspense>
            </AppShell>
          </SelectedExperimentProvider>
        </EventStreamProvider>
      </DeploymentProvider>
    </QueryClientProvider>
  )
}
