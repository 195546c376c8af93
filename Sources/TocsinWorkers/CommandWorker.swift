import Logging
import TocsinCore
import ZeroMQ

/// What answers the command endpoint's ops. The dispatch worker implements it with its incident state.
public protocol CommandHandler: AnyObject {
    /// Answers one request (already known to be a JSON object) with a reply frame.
    func handle(op: String, request: JSONObject) throws(CommandError) -> [UInt8]
}

/// Answers `stats` from the process's counters and refuses every other op: the pipeline's first shape, before
/// incidents exist. Also the base of every handler's `stats`.
public final class StatsOnlyHandler: CommandHandler {
    let stats: PipelineStats
    let zapDenied: @Sendable () -> Int

    public init(stats: PipelineStats, zapDenied: @escaping @Sendable () -> Int = { 0 }) {
        self.stats = stats
        self.zapDenied = zapDenied
    }

    public func handle(op: String, request: JSONObject) throws(CommandError) -> [UInt8] {
        switch op {
        case "stats":
            var c = stats.snapshot
            c.unauthorised += zapDenied()
            return CommandCodec.stats(c)
        default:
            throw .unknownOp(op)
        }
    }
}

/// Serves one ROUTER command endpoint on its own thread: every request gets exactly one reply.
public final class CommandWorker: Sendable {
    private let thread: WorkerThread
    private let state: State

    private final class State: @unchecked Sendable {
        let router: Socket
        let handler: CommandHandler
        let logger: Logger
        let endpoint: String
        init(router: Socket, handler: CommandHandler, logger: Logger, endpoint: String) {
            self.router = router
            self.handler = handler
            self.logger = logger
            self.endpoint = endpoint
        }
    }

    public init(context: Context, endpoint: String, handler: CommandHandler, security: ServerSecurity?,
                logger: Logger) throws {
        let router = try context.makeSocket(.router)
        do {
            try router.setMaxMessageSize(1 << 20)
            if let security { try security.apply(to: router) }
            try router.bind(endpoint)
        } catch {
            router.close()
            throw error
        }
        thread = try WorkerThread(name: "command")
        state = State(router: router, handler: handler, logger: logger, endpoint: endpoint)
    }

    public func start() {
        let s = state, thread = self.thread
        thread.start {
            var poller = Poller()
            let index = poller.add(s.router)
            _ = poller.add(fileDescriptor: thread.wakeDescriptor)
            s.logger.info("command endpoint ready", metadata: ["endpoint": "\(s.endpoint)"])
            while !thread.isStopping {
                do {
                    let ready = try poller.poll(timeoutMilliseconds: -1)
                    guard ready.contains(where: { $0.index == index }) else { continue }
                    while let message = try s.router.receive(dontWait: true, maxFrames: 8) {
                        let request = CommandCodec.parse(message)
                        let reply = Self.answer(request, s.handler)
                        _ = try? s.router.send(request.envelope + [reply], dontWait: true)
                    }
                } catch let error as ZMQError where error.isTerminated {
                    break
                } catch {
                    s.logger.error("command loop error: \(error)")
                }
            }
            s.router.close()
        }
    }

    @discardableResult
    public func stop(timeout: Double = 5) -> Bool { thread.stop(timeout: timeout) }

    static func answer(_ request: CommandRequest, _ handler: CommandHandler) -> [UInt8] {
        switch request.body {
        case .failure(let e):
            return CommandCodec.error(e)
        case .success(let object):
            do throws(CommandError) {
                let op = try object.string("op")
                return try handler.handle(op: op, request: object)
            } catch {
                return CommandCodec.error(error)
            }
        }
    }
}
