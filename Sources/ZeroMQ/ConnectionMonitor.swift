import CZeroMQ
import Foundation
import Logging

/// Counts the connections a listening socket accepted that ended without completing the ZMTP handshake: a
/// client without CURVE on a CURVE server, an unknown key, bytes that are not ZMTP, a greeting cut short.
/// libzmq drops such connections by itself, before any message exists; this is how they are still counted.
///
/// It reads the socket's monitor events (`zmq_socket_monitor`, http://api.zeromq.org/4-3:zmq-socket-monitor)
/// from a PAIR socket on a dedicated thread, polled together with a ``WakeUp`` so that ``stop()`` returns
/// promptly. libzmq names the connection (its descriptor) in `ACCEPTED` but not in `HANDSHAKE_SUCCEEDED`, and
/// garbage that libzmq reads as an old ZMTP version ends with a plain `DISCONNECTED`; so the monitor counts
/// both events and reports their difference: exact at rest, and a connection still shaking hands counts as
/// refused for the milliseconds its handshake takes. Memory: two counters.
///
/// Thread safety (`@unchecked Sendable`): the counters are behind a lock; the PAIR socket belongs to the
/// monitor's thread. Create it before the monitored socket's owner thread starts using that socket
/// (`zmq_socket_monitor` is a call on the monitored socket).
public final class ConnectionMonitor: @unchecked Sendable {
    private struct Counts {
        var accepted = 0
        var handshakes = 0
    }

    private let counts = Locked(Counts())
    private let wakeUp: WakeUp
    private let exited = DispatchSemaphore(value: 0)
    private let stopping = Locked(false)
    private let logger: Logger

    /// Starts monitoring `socket` (bound or about to be bound) through the inproc endpoint
    /// `inproc://tocsin.monitor.<name>`, unique in `context`.
    public init(context: Context, socket: Socket, name: String, logger: Logger) throws {
        self.logger = logger
        let endpoint = "inproc://tocsin.monitor.\(name)"
        let events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_MONITOR_STOPPED
        let handle = try socket.rawHandle(for: "zmq_socket_monitor")
        guard zmq_socket_monitor(handle, endpoint, events) == 0 else {
            throw ZMQError(code: zmq_errno(), operation: "zmq_socket_monitor")
        }
        let pair = try context.makeSocket(.pair)
        do {
            try pair.connect(endpoint)
            wakeUp = try WakeUp()
        } catch {
            pair.close()
            _ = zmq_socket_monitor(handle, nil, 0)
            throw error
        }
        let thread = Thread { [self] in
            run(pair)
            exited.signal()
        }
        thread.name = "monitor.\(name)"
        thread.start()
    }

    /// Accepted connections that did not complete their handshake (see above: includes, for a moment, those
    /// still in it).
    public var refused: Int { counts.withLock { $0.accepted - $0.handshakes } }
    /// Accepted connections, and those that completed their handshake.
    public var accepted: Int { counts.withLock { $0.accepted } }
    public var handshakes: Int { counts.withLock { $0.handshakes } }

    /// Stops the thread and closes its socket. Idempotent.
    public func stop() {
        let already = stopping.withLock { s -> Bool in
            defer { s = true }
            return s
        }
        if already { return }
        wakeUp.signal()
        exited.wait()
        wakeUp.close()
    }

    private func run(_ pair: Socket) {
        defer { pair.close() }
        var poller = Poller()
        let pairIndex = poller.add(pair)
        poller.add(fileDescriptor: wakeUp.fileDescriptor)
        do {
            while !stopping.withLock({ $0 }) {
                let ready = try poller.poll(timeoutMilliseconds: -1)
                guard ready.isReadable(pairIndex) else { continue }
                while let message = try pair.receive(dontWait: true, maxFrames: 4) {
                    // Frame 1: a 16-bit event and a 32-bit value, in host byte order; frame 2: the endpoint.
                    guard let frame = message.frames.first, frame.count >= 6 else { continue }
                    let event = frame.withUnsafeBytes { Int32($0.loadUnaligned(as: UInt16.self)) }
                    switch event {
                    case ZMQ_EVENT_ACCEPTED: counts.withLock { $0.accepted += 1 }
                    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: counts.withLock { $0.handshakes += 1 }
                    case ZMQ_EVENT_MONITOR_STOPPED: return
                    default: continue
                    }
                }
            }
        } catch let error as ZMQError where error.isTerminated {
            logger.debug("connection monitor ends: context shut down")
        } catch {
            logger.error("connection monitor ends: \(error)")
        }
    }
}
