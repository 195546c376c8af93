import CZeroMQ

/// One ready entry of a ``Poller``: the index ``Poller/add(_:readable:writable:)`` or
/// ``Poller/add(fileDescriptor:)`` returned, and what it is ready for (only what was asked).
public struct PollResult: Sendable, Hashable {
    public let index: Int
    public let readable: Bool
    public let writable: Bool

    public init(index: Int, readable: Bool, writable: Bool) {
        self.index = index
        self.readable = readable
        self.writable = writable
    }
}

/// `zmq_poll` over several sockets and raw file descriptors (such as a ``WakeUp``), so one thread can
/// wait for whichever is ready first without spinning. http://api.zeromq.org/4-3:zmq-poll
///
/// Like its sockets, a poller is used by their owner thread only.
public struct Poller {
    private enum Entry {
        case socket(Socket)
        case fileDescriptor(Int32)
    }

    private var entries: [Entry] = []
    private var items: [zmq_pollitem_t] = []

    public init() {}

    /// How many sockets and descriptors were added.
    public var count: Int { entries.count }

    /// Watches `socket` for a whole message to receive (`readable`) and/or room to send
    /// (`writable`). Returns its index in ``poll(timeoutMilliseconds:)``'s results.
    @discardableResult
    public mutating func add(_ socket: Socket, readable: Bool = true, writable: Bool = false) -> Int {
        var events: Int16 = 0
        if readable { events |= Int16(ZMQ_POLLIN) }
        if writable { events |= Int16(ZMQ_POLLOUT) }
        entries.append(.socket(socket))
        items.append(zmq_pollitem_t(socket: nil, fd: -1, events: events, revents: 0))
        return entries.count - 1
    }

    /// Watches a file descriptor for readability (e.g. ``WakeUp/fileDescriptor``). Returns its index.
    @discardableResult
    public mutating func add(fileDescriptor: Int32) -> Int {
        entries.append(.fileDescriptor(fileDescriptor))
        items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: Int16(ZMQ_POLLIN), revents: 0))
        return entries.count - 1
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever, 0: just look) until something is ready.
    /// Returns the ready entries in index order, each with only the readiness that was asked for;
    /// empty when the time ran out. An interrupted wait (`EINTR`) is resumed for the time left.
    /// Throws `ETERM` once a socket's context is shut down, `ENOTSOCK` if a socket was closed.
    public mutating func poll(timeoutMilliseconds: Int) throws -> [PollResult] {
        for (index, entry) in entries.enumerated() {
            if case .socket(let socket) = entry {
                items[index].socket = try socket.rawHandle(for: "zmq_poll")
            }
            items[index].revents = 0
        }
        let clock = ContinuousClock()
        let deadline = timeoutMilliseconds >= 0 ? clock.now.advanced(by: .milliseconds(timeoutMilliseconds)) : nil
        var timeout = timeoutMilliseconds
        while true {
            let count = items.count
            let rc = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32(count), timeout) }
            if rc >= 0 { break }
            let code = zmq_errno()
            guard code == EINTR else {
                throw ZMQError(code: code, operation: "zmq_poll")
            }
            if let deadline {
                let left = clock.now.duration(to: deadline)
                let milliseconds = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000
                timeout = max(0, Int(milliseconds))
            }
        }
        var ready: [PollResult] = []
        for (index, item) in items.enumerated() where item.revents != 0 {
            let readable = item.revents & Int16(ZMQ_POLLIN) != 0 && item.events & Int16(ZMQ_POLLIN) != 0
            let writable = item.revents & Int16(ZMQ_POLLOUT) != 0 && item.events & Int16(ZMQ_POLLOUT) != 0
            // POLLERR on a raw descriptor is reported as readable, so the caller reads and sees it.
            let failed = item.revents & Int16(ZMQ_POLLERR) != 0
            if readable || writable || failed {
                ready.append(PollResult(index: index, readable: readable || failed, writable: writable))
            }
        }
        return ready
    }
}

extension Array where Element == PollResult {
    /// Whether the entry at `index` is readable in these results.
    public func isReadable(_ index: Int) -> Bool {
        contains { $0.index == index && $0.readable }
    }

    /// Whether the entry at `index` is writable in these results.
    public func isWritable(_ index: Int) -> Bool {
        contains { $0.index == index && $0.writable }
    }
}
