/// <reference types="vitest/config" />
import tailwindcss from '@tailwindcss/vite'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

const api = process.env.FEDSHIELD_API ?? 'http://127.0.0.1:8000'

export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': {
        target: api,
        changeOrigin: true,
        // Server-Sent Events must reach the browser as they are written: no proxy timeout, no buffering.
        timeout: 0,
        proxyTimeout: 0,
        configure: (proxy) => {
          proxy.on('proxyRes', (res) => {
            if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
              res.headers['cache-control'] = 'no-cache, no-transform'
              res.headers['x-accel-buffering'] = 'no'
            }
          })
        },
      },
    },
  },
  preview: { host: '127.0.0.1' },
  build: {
    target: 'es2022',
    rolldownOptions: {
      output: {
        // Chain and chart libraries change rarely: their own chunks stay cached across dashboard releases.
        codeSplitting: {
          groups: [
            { name: 'web3', test: /node_modules[\\/](viem|wagmi|@wagmi|ox|abitype|@noble|@scure)/ },
            { name: 'charts', test: /node_modules[\\/](recharts|d3-|victory-vendor|@reduxjs|immer|reselect)/ },
            { name: 'react', test: /node_modules[\\/](react|react-dom|scheduler|@tanstack)[\\/]/ },
          ],
        },
      },
    },
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    css: false,
    include: ['src/**/*.test.{ts,tsx}'],
  },
})
