import Foundation
import Testing
import ZeroMQ

/// The transports every pattern is exercised over.
enum Transport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case inproc, ipc, tcp

    var testDescription: String { rawValue }
}

/// Binds `socket` to a fresh endpoint of `transport` (unique per call, so tests can run in
/// parallel) and returns the endpoint peers connect to.
func bindFresh(_ socket: Socket, _ transport: Transport) throws -> String {
    switch transport {
    case .inproc:
        let endpoint = "inproc://test-\(UUID().uuidString)"
        try socket.bind(endpoint)
        return endpoint
    case .ipc:
        // An explicit path: libzmq 4.3.4's "ipc://*" makes its directory under $TMPDIR or else the
        // working directory. libzmq leaves the file behind: remove it with removeIPCFile.
        let endpoint = "ipc:///tmp/tocsin-zmq-\(UUID().uuidString.prefix(13)).sock"
        try socket.bind(endpoint)
        return endpoint
    case .tcp:
        try socket.bind("tcp://127.0.0.1:*")
        return try socket.lastEndpoint()
    }
}

/// Removes the socket file of an `ipc://` endpoint that ``bindFresh(_:_:)`` made (libzmq does not);
/// other endpoints are left alone. Established connections are unaffected.
func removeIPCFile(_ endpoint: String) {
    let prefix = "ipc://"
    guard endpoint.hasPrefix(prefix) else { return }
    try? FileManager.default.removeItem(atPath: String(endpoint.dropFirst(prefix.count)))
}

/// A value shared with helper threads.
final class Box<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// Runs `body` on a new thread (a socket's owner thread in these tests) and returns a semaphore
/// that is signalled when it returns.
func onThread(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        body()
        done.signal()
    }
    thread.start()
    return done
}

/// Polls `condition` every 10 ms for up to `seconds`; true as soon as it holds.
func eventually(within seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.01)
    }
    return condition()
}

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Runs `body` with a PUSH connected to a PULL bound on `transport` (receive time-out 5 s), in a context of their
/// own that ends afterwards.
func withPushPull<R>(_ transport: Transport, _ body: (_ push: Socket, _ pull: Socket) throws -> R) throws -> R {
    let context = try Context()
    defer { context.terminate() }
    let pull = try context.makeSocket(.pull)
    defer { pull.close() }
    let push = try context.makeSocket(.push)
    defer { push.close() }
    try pull.setReceiveTimeout(milliseconds: 5000)
    let endpoint = try bindFresh(pull, transport)
    defer { removeIPCFile(endpoint) }
    try push.connect(endpoint)
    return try body(push, pull)
}
