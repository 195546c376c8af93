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

    public init(arguments: [String], logPath: String) throws {
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.executableURL = URL(fileURLWithPath: Self.tocsinBinary)
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
    \(extra)
    """
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
