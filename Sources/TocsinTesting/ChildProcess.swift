import Foundation

/// A `tocsin` binary run as a child process, for tests of crashes, signals and several processes.
public final class ChildProcess {
    public let process = Process()
    public let logPath: String

    /// The `tocsin` executable built beside the test bundle.
    public static var tocsinBinary: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("tocsin").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        for candidate in ["/.build/debug/tocsin", "/.build/release/tocsin"]
        where FileManager.default.isExecutableFile(atPath: Fixtures.repositoryRoot + candidate) {
            return Fixtures.repositoryRoot + candidate
        }
        return beside
    }

    /// An executable built beside the test bundle (or in the repository's `.build`), e.g. `tocsin-soak`.
    public static func binary(_ name: String) -> String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        for candidate in ["/.build/debug/", "/.build/release/"]
        where FileManager.default.isExecutableFile(atPath: Fixtures.repositoryRoot + candidate + name) {
            return Fixtures.repositoryRoot + candidate + name
        }
        return beside
    }

    public convenience init(arguments: [String], logPath: String) throws {
        try self.init(executable: Self.tocsinBinary, arguments: arguments, logPath: logPath)
    }

    /// Runs `executable` with its output appended to `logPath`.
    public init(executable: String, arguments: [String], logPath: String) throws {
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }

    public func kill(_ signal: Int32) { _ = Foundation.kill(pid, signal) }

    /// Waits up to `timeout` seconds for the process to end; returns its exit status, or nil on time-out.
    public func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// Writes a configuration for a child `tocsin` that uses the shipped areas and catalog and private endpoints.
public func writeTestConfig(dir: String, durability: String = "full", extra: String = "") throws -> String {
    let path = dir + "/tocsin.yaml"
    let text = """
    endpoints:
      ingest: ipc://\(dir)/ingest
      feed: ipc://\(dir)/feed
      command: ipc://\(dir)/command
    data: \(dir)/data
    durability: \(durability)
    areas: \(Fixtures.repositoryRoot)/Config/areas.yaml
    catalog: \(Fixtures.repositoryRoot)/Config/catalog.yaml
    plans: \(Fixtures.repositoryRoot)/Config/plans
    \(extra.contains("http:") ? "" : "http: {listen: off}   # tests run side by side: no shared fixed port")
    \(extra)
    """
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read back, released).
public func freeTCPPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
    }
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A configuration for child `tocsin` processes on free tcp ports, public and internal.
/// The public and internal endpoints of a test deployment whose workers talk over tcp, each on a free port.
public struct TestTCPEndpoints: Sendable {
    public let ingestPort: Int
    public let ingest: String
    public let feed: String
    public let command: String
    private let internalPorts: [Int]

    public init() {
        let p = (0..<10).map { _ in freeTCPPort() }
        ingestPort = p[0]
        ingest = "tcp://127.0.0.1:\(p[0])"
        feed = "tcp://127.0.0.1:\(p[1])"
        command = "tcp://127.0.0.1:\(p[2])"
        internalPorts = Array(p[3...])
    }

    /// The config's `endpoints:` block, at the top level.
    public var yaml: String {
        let names = ["journal", "clock", "incidents", "control", "warnings", "tasks", "plan"]
        return """
            endpoints:
              ingest: \(ingest)
              feed: \(feed)
              command: \(command)
              internal:

            """ + zip(names, internalPorts).map { "    \($0): tcp://127.0.0.1:\($1)" }.joined(separator: "\n")
    }
}

public func writeTCPTestConfig(dir: String, durability: String = "normal") throws -> (path: String, ingest: String, command: String) {
    let endpoints = TestTCPEndpoints()
    let path = dir + "/tocsin.yaml"
    let text = endpoints.yaml + """

    data: \(dir)/data
    durability: \(durability)
    areas: \(Fixtures.repositoryRoot)/Config/areas.yaml
    catalog: \(Fixtures.repositoryRoot)/Config/catalog.yaml
    plans: \(Fixtures.repositoryRoot)/Config/plans
    http: {listen: off}   # tests run side by side: no shared fixed port
    """
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return (path, endpoints.ingest, endpoints.command)
}
