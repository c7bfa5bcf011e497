// Shared Scenario texts for the api tests. Not a test file itself.

/** A scenario that uses every field of the spec (and a full status); it must produce no issues. */
export const FULL = `# yaml-language-server: $schema=../crds/scenario.schema.json
apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: split-brain
  generation: 3
  labels: { team: storage }
  annotations: { faultline.dev/note: "kept" }
spec:
  description: Everything a Scenario can say.
  startAt: "2025-01-31T12:00:00Z"
  duration: 1h30m
  onComplete: delete
  suspend: { freezeTimeline: true }
  allowHostNetwork: false
  seed: 42
  networks:
    - name: unstable
      driver: bridge
      options: { com.docker.network.bridge.enable_icc: "true" }
      ipam:
        driver: default
        config:
          - subnet: 10.30.0.0/24
            gateway: 10.30.0.1
            ipRange: 10.30.0.128/25
            auxAddresses: { router: 10.30.0.2 }
          - subnet: fd00:30::/64
            gateway: fd00:30::1
        options: { foo: bar }
      internal: false
      attachable: true
      enableIPv6: true
      labels: { com.example.purpose: chaos }
    - name: backbone
      driver: macvlan
      options: { parent: eth0, macvlan_mode: bridge }
    - name: bridge
      external: true
    - name: shop
      external: { compose: { project: shop, network: default } }
    - name: legacy
      external: { name: legacy-net }
    - name: mesh
      driver: weaveworks/net-plugin:latest_release
  volumes:
    - name: data
      driver: local
      options: { type: tmpfs, device: tmpfs }
      labels: { com.example.purpose: db }
      keep: true
  containers:
    - name: server
      image: faultline/testbox:latest
      command: [sleep, infinity]
      entrypoint: [/bin/sh, -c]
      env: { PGDATA: /data, LOG_LEVEL: debug }
      labels: { com.example.role: db }
      hostname: db.internal
      workingDir: /srv
      user: "1000:1000"
      capAdd: [NET_ADMIN, CAP_SYS_TIME]
      capDrop: [ALL]
      restart: unless-stopped
      ports: ["8080:80", "127.0.0.1:5000:5000/udp", "[::1]:9000:9000", "6000-6001:6000-6001"]
      stopSignal: SIGTERM
      stopTimeout: 10
      volumes:
        - { source: data, target: /data }
        - { source: /srv/seed, target: /seed, readOnly: true }
      tmpfs:
        - { target: /run, size: 16m, mode: "1777" }
    - name: sidecar
      image: faultline/testbox
      networkMode: container:server
    - name: loner
      image: faultline/testbox
      networkMode: none
    - name: client1
      image: ghcr.io/example/client@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      dependsOn: [server]
    - name: client2
      image: localhost:5000/client:v1.2
      dependsOn: [server, client1]
  members:
    - network: unstable
      select: { names: [server] }
      aliases: [primary, db.local]
      ipv4Address: 10.30.0.10
      ipv6Address: fd00:30::10
    - network: unstable
      select: { names: [client1, client2] }
    - network: backbone
      select: { labels: { com.example.role: db } }
    - network: backbone
      select: { compose: { project: shop, service: [api, worker] } }
    - network: backbone
      select: { compose: { service: web } }
    - network: bridge
      select: { names: [client1] }
    - network: shop
      select: { names: [client2] }
      aliases: [shop-client]
  faults:
    - name: slow-clients
      targets: { names: [client1, client2], random: { count: 1 } }
      peers: { names: [server], cidrs: [10.30.0.0/24, fd00:30::/64] }
      ports: ["5432", "8000-8100"]
      protocol: tcp
      direction: egress
      netem:
        delay: 100ms
        jitter: 10ms
        correlation: 25%
        distribution: normal
        loss: 20%
        duplicate: { percent: 1%, correlation: 10% }
        corrupt: 0.1%
        reorder: { percent: 25%, correlation: 50%, gap: 5 }
        rate: 1mbit
      at: 30s
      duration: 2m
      repeat: { every: 10m, times: 3 }
    - name: lossy-model
      targets: { labels: { com.example.role: db }, random: { percent: 50% } }
      netem:
        gemodel: { p: 1%, r: 10%, h: 70%, k: 0.1% }
      at: { min: 10s, max: 1m }
      duration: 30s
    - name: throttle
      targets: { compose: { project: shop, service: api } }
      bandwidth: { rate: 10mbps, burst: 32kb, limit: 1mb }
      startAt: "2025-01-31T13:00:00+01:00"
      duration: 5m
    - name: throttle-latency
      targets: { names: [client1] }
      bandwidth: { rate: 500kibit, latency: 50ms }
      schedule: "*/15 * * * *"
      timeZone: Europe/Berlin
      duration: 1m
      concurrency: allow
    - name: split
      partition: { groups: [[server], [client1, client2]] }
      direction: both
      at: 3m
      duration: 1m
    - name: isolate-one
      targets: { names: [server, client1, client2] }
      partition: { generator: isolate, count: 1 }
      schedule: "0 */5 * * * *"
      duration: 30s
      concurrency: forbid
    - name: void
      targets: { names: [server] }
      blackhole: {}
      at: 20m
      duration: 10s
    - name: refuse
      targets: { names: [server] }
      reject: { with: tcp-reset }
      ports: ["5432"]
      at: 25m
      duration: 10s
    - name: radio
      targets: { names: [client1] }
      sourcePorts: ["1024-65535"]
      destinationPorts: ["5432"]
      protocol: tcp
      netem:
        delay: 5ms
        lossState: { p13: 1%, p31: 30%, p32: 2%, p23: 60%, p14: 0.5% }
        ecn: true
        slot: { minDelay: 1ms, maxDelay: 5ms, packets: 10, bytes: 3000b }
        limit: 500
        rate: { rate: 1mbit, packetOverhead: -20, cellSize: 48, cellOverhead: 5 }
      at: 26m
      duration: 10s
    - name: borrow
      targets: { names: [client1] }
      verify: probe
      bandwidth: { rate: 1mbit, ceil: 4mbit, limit: 64kb }
      at: 27m
      duration: 10s
    - name: peak
      targets: { names: [client2] }
      verify: readback
      bandwidth: { rate: 1mbit, burst: 64kb, peakrate: 2mbit, mtu: 1514b }
      at: 27m
      duration: 10s
    - name: slow-names
      targets: { names: [client1] }
      dns: { action: delay, delay: 2s, names: [db, example.com.] }
      at: 28m
      duration: 10s
    - name: unplug
      targets: { names: [client2] }
      disconnect: { network: unstable }
      at: 30m
      duration: 20s
    - name: freeze
      targets: { names: [client1] }
      container: { action: kill, signal: SIGTERM }
      at: 40m
status:
  observedGeneration: 3
  specHash: 0123456789abcdef
  phase: Running
  startedAt: "2025-01-31T12:00:00Z"
  seed: 42
  conditions:
    - { type: Valid, status: "True", reason: Valid, message: ok, lastTransitionTime: "2025-01-31T12:00:00Z" }
    - { type: Ready, status: "False", reason: KernelLacksNetem, message: no netem, lastTransitionTime: "2025-01-31T12:00:01Z" }
  networks:
    - { name: unstable, dockerName: split-brain_unstable, id: abc, phase: Ready, driver: bridge, subnets: [10.30.0.0/24] }
    - { name: bridge, dockerName: bridge, id: b0, phase: Ready, external: true, driver: bridge }
  volumes:
    - { name: data, dockerName: split-brain_data, phase: Ready, keep: true }
  containers:
    - { name: server, dockerName: split-brain_server, id: def, state: running, phase: Running }
  members:
    - { network: unstable, container: server, containerId: def, ipv4Address: 10.30.0.10, ipv6Address: "fd00:30::10", aliases: [primary], phase: Connected }
  faults:
    - name: slow-clients
      phase: Active
      window: { from: "2025-01-31T12:00:30Z", until: "2025-01-31T12:02:30Z" }
      nextWindow: { from: "2025-01-31T12:10:30Z" }
      windowsRun: 1
      missed: 0
      seed: 7
      targets:
        - { container: client1, containerId: x1, phase: Injected, mechanism: netem, verified: true, injected: 1, recovered: 0 }
        - { container: client2, phase: Failed, lastError: "nsenter failed" }
        - container: server
          phase: Injected
          verified: true
          observed:
            at: "2025-01-31T12:00:40Z"
            peer: 10.30.0.2
            samples: 200
            delay: 101.2ms
            loss: 19.5%
            rate: 1mbit
            reachable: true
            refused: false
            expected: { delay: 100ms, loss: 20%, rate: 1mbit, reachable: true, refused: false }
            verdict: AsRequested
            message: 200 echo requests every 10 ms
      message: running
  nextTransitionAt: "2025-01-31T12:02:30Z"
  lastReconcile: { time: "2025-01-31T12:00:31Z", durationMs: 12.5, operations: 4 }
  issues:
    - { code: cidr.invalid, path: [spec, networks, 0, name], message: bad, line: 3, column: 5 }
  events:
    - { time: "2025-01-31T12:00:30Z", type: Normal, reason: FaultInjected, message: slow-clients on client1 }
`;

/** The smallest valid scenario; tests patch it to make one thing wrong. */
export const MINIMAL = `apiVersion: faultline.dev/v1alpha1
kind: Scenario
metadata:
  name: demo
spec:
  networks:
    - name: net
  containers:
    - name: server
      image: faultline/testbox
  faults:
    - name: slow
      targets: { names: [server] }
      netem: { delay: 100ms }
`;
