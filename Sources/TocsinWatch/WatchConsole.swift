import TocsinCore
import ZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `tocsin watch`: the live console of a command center. One thread owns everything (the feed SUB, the command
/// DEALER, the keyboard and the screen) and waits in one `zmq_poll` over the sockets, standard input and a
/// wake-up descriptor that the signal handlers fire; it wakes at least once a second to redraw the clocks.
public final class WatchConsole {
    public struct Options: Sendable {
        public var feed: String
        public var command: String
        public var scope: WatchScope
        /// The area that acknowledges warnings and moves steps.
        public var by: AreaPath
        public var curve: CurveClient?
        public var colour: Bool
        /// The clock's offset from UTC, in seconds.
        public var utcOffsetSeconds: Int
        public var refreshSeconds: Double = 5
        public var timeoutSeconds: Double = 5

        public init(feed: String, command: String, scope: WatchScope, by: AreaPath, curve: CurveClient? = nil,
                    colour: Bool = true, utcOffsetSeconds: Int = 0) {
            self.feed = feed
            self.command = command
            self.scope = scope
            self.by = by
            self.curve = curve
            self.colour = colour
            self.utcOffsetSeconds = utcOffsetSeconds
        }
    }

    let options: Options
    let log: @Sendable (String) -> Void

    /// `log` receives one line per problem with outside input or lost request (the screen shows only the last).
    public init(options: Options, log: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.log = log
    }

    // MARK: - Interactive

    /// Runs until `q`, a stop signal or the end of input; the terminal is restored on every way out.
    public func run(terminal: Terminal) throws {
        let context = try Context()
        defer { context.terminate() }
        let feed = try context.makeSocket(.sub)
        defer { feed.close() }
        try feed.setReceiveHighWaterMark(100_000)
        if let curve = options.curve { try feed.configureCurveClient(keys: curve.keys, serverKey: curve.serverKey) }
        for prefix in options.scope.prefixes { try feed.subscribe(prefix) }
        try feed.connect(options.feed)
        let channel = try CommandChannel(context: context, endpoint: options.command, curve: options.curve)
        defer { channel.close() }
        let wake = try WakeUp()
        defer { wake.close() }
        let signals = SignalMonitor(wake: wake)
        defer { signals.cancel() }

        var session = WatchSession(scope: options.scope, by: options.by)
        session.refreshSeconds = options.refreshSeconds
        session.timeoutSeconds = options.timeoutSeconds
        var keys = KeyDecoder()
        try terminal.enterRawMode()
        defer { terminal.restore() }
        var previous: [String]?
        var size = terminal.size() ?? (80, 24)
        var lastDraw = -Double.infinity
        var lastSecond: Int64 = -1
        var dirty = true

        loop: while signals.stopSignal == nil {
            let now = Self.monotonic()
            session.tick(now: now)
            if session.checkTimeout(now: now) {
                try channel.reconnect()
                dirty = true
            }
            if let next = session.nextRequest(now: now), try !channel.send(next.body) { session.unsent() }
            for line in session.takeLogLines() { log(line) }

            // Draw at most 20 times a second, and at least when the clock's second changes.
            let wall = Self.wallClock()
            if signals.takeResized(), let s = terminal.size() {
                size = s
                previous = nil
                dirty = true
            }
            if (dirty && now - lastDraw >= 0.05) || wall.micros / 1_000_000 != lastSecond {
                let renderer = WatchRenderer(width: size.columns, height: size.rows, colour: options.colour,
                                             utcOffsetSeconds: options.utcOffsetSeconds)
                let lines = renderer.render(session.board, status: session.status(now: now), now: wall)
                terminal.write(Terminal.frame(lines, previous: previous))
                previous = lines
                lastDraw = now
                lastSecond = wall.micros / 1_000_000
                dirty = false
            }

            var poller = Poller()
            let feedIndex = poller.add(feed)
            let commandIndex = poller.add(channel.socket)
            let inputIndex = poller.add(fileDescriptor: terminal.input)
            poller.add(fileDescriptor: wake.fileDescriptor)
            let toNextSecond = 1000 - Int(Self.wallClock().micros / 1000 % 1000)
            let timeout = dirty ? 50 : min(toNextSecond + 1, session.inFlight == nil ? 1000 : 250)
            let ready = try poller.poll(timeoutMilliseconds: max(1, timeout))
            wake.drain()
            if ready.isReadable(feedIndex) {
                // Bounded per wake-up, so that a flood of messages cannot starve the keyboard and the screen.
                for _ in 0..<10_000 {
                    guard let message = try feed.receive(dontWait: true, maxFrames: 4) else { break }
                    session.handleFeed(frames: message.truncated ? message.frames + [[]] : message.frames)
                    dirty = true
                }
            }
            if ready.isReadable(commandIndex) {
                while let reply = try channel.receive() {
                    session.handleReply(reply, now: Self.monotonic())
                    dirty = true
                    if let next = session.nextRequest(now: Self.monotonic()), try !channel.send(next.body) {
                        session.unsent()
                    }
                }
            }
            if ready.isReadable(inputIndex) {
                guard let bytes = terminal.readAvailable() else { break loop }
                for key in keys.feed(bytes) {
                    guard session.handleKey(key) else { break loop }
                    dirty = true
                }
            }
        }
        for line in session.takeLogLines() { log(line) }
    }

    // MARK: - Once

    /// One plain snapshot of the board as `active` gives it (for a pipe, a log or a script): every row, no
    /// selection, no key help. Throws when the command endpoint does not answer within `timeout` seconds or
    /// refuses.
    public func snapshot(width: Int, timeout: Double = 5) throws -> String {
        let context = try Context()
        defer { context.terminate() }
        let channel = try CommandChannel(context: context, endpoint: options.command, curve: options.curve)
        defer { channel.close() }
        var board = WatchBoard(scope: options.scope)
        try board.start(stats: try channel.request(CommandChannel.body(.stats, position: nil, by: options.by), timeout: timeout))
        for prefix in options.scope.prefixes {
            let body = CommandChannel.body(.active(prefix: prefix), position: nil, by: options.by)
            let reply = try channel.request(body, timeout: timeout)
            do {
                try board.applyActive(prefix: prefix, position: nil, reply: reply)
            } catch {
                // A refusal ends the snapshot; a bad row is left out, logged and counted on the status line.
                guard reply["ok"]?.boolValue == true else { throw error }
                log("active \(prefix): \(error.message)")
            }
        }
        let renderer = WatchRenderer(width: width, height: nil, colour: options.colour,
                                     utcOffsetSeconds: options.utcOffsetSeconds, interactive: false)
        let lines = renderer.render(board, status: WatchStatus(connection: .connected), now: Self.wallClock())
        return lines.joined(separator: "\n")
    }

    // MARK: - Clocks

    static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func wallClock() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(micros: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)
    }
}
