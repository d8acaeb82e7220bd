// A browser wallet for tests: an EIP-1193 provider that announces itself through EIP-6963 and forwards every
// request to anvil, whose development accounts are unlocked (anvil signs eth_sendTransaction itself).
// Configured by window.__FEDSHIELD_TEST_WALLET__ = {rpcUrl, account, startChainId}; it starts on startChainId
// (a wrong network when that differs from anvil's) until the page asks it to switch.
(() => {
  const config = window.__FEDSHIELD_TEST_WALLET__
  const listeners = new Map()
  let chainId = config.startChainId
  let connected = false
  let rpcId = 0

  const emit = (event, value) => (listeners.get(event) || []).forEach((fn) => fn(value))
  const hex = (n) => '0x' + Number(n).toString(16)
  const rpcError = (code, message) => Object.assign(new Error(message), { code })

  async function forward(method, params) {
    const response = await fetch(config.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params: params || [] }),
    })
    const body = await response.json()
    if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code, data: body.error.data })
    return body.result
  }

  const provider = {
    isFedShieldTestWallet: true,
    async request({ method, params }) {
      window.__FEDSHIELD_TEST_WALLET_CALLS__ = (window.__FEDSHIELD_TEST_WALLET_CALLS__ || []).concat(method)
      switch (method) {
        case 'eth_requestAccounts':
          connected = true
          emit('connect', { chainId: hex(chainId) })
          return [config.account]
        case 'eth_accounts':
          return connected ? [config.account] : []
        case 'eth_chainId':
          return hex(chainId)
        case 'net_version':
          return String(chainId)
        case 'wallet_switchEthereumChain': {
          const wanted = Number(params[0].chainId)
          const actual = Number(await forward('eth_chainId'))
          if (wanted !== actual) throw rpcError(4902, `Unrecognized chain ID ${params[0].chainId}`)
          chainId = wanted
          emit('chainChanged', hex(chainId))
          return null
        }
        case 'wallet_addEthereumChain':
          return null
        case 'wallet_requestPermissions':
          connected = true
          return [{ parentCapability: 'eth_accounts' }]
        case 'wallet_getPermissions':
          return connected ? [{ parentCapability: 'eth_accounts' }] : []
        case 'wallet_revokePermissions':
          connected = false
          emit('accountsChanged', [])
          return null
        case 'eth_sendTransaction':
          if (chainId !== Number(await forward('eth_chainId'))) throw rpcError(4901, 'wallet is on another chain')
          return forward(method, params)
        default:
          return forward(method, params)
      }
    },
    on(event, fn) {
      listeners.set(event, (listeners.get(event) || []).concat(fn))
      return provider
    },
    removeListener(event, fn) {
      listeners.set(event, (listeners.get(event) || []).filter((f) => f !== fn))
      return provider
    },
  }

  const info = Object.freeze({
    uuid: '4f1c2f3e-8d7b-4a55-9c1e-fed5h1e1d000'.replace('h', 'a'),
    name: 'FedShield Test Wallet',
    icon: 'data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 32 32%22%3E%3Crect width=%2232%22 height=%2232%22 rx=%228%22 fill=%22%2322d3ee%22/%3E%3C/svg%3E',
    rdns: 'dev.fedshield.testwallet',
  })
  const announce = () =>
    window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) }))
  window.addEventListener('eip6963:requestProvider', announce)
  window.ethereum = provider
  announce()
})()
