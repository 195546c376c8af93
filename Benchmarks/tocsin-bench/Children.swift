// Child processes of the benchmark: the same binary in another mode (`platform`, `subscribers`), so that
// platforms and command centers run as separate processes over tcp, as they do in production. The parent and a
// child speak in lines: the child prints `ready` on stdout once set up, the parent answers `go <t0>` on its
// stdin (every child of a run gets the same start time on the machine-wide monotonic clock), and later `stop`.
// Results come back as a JSON file named by `--out`.
import Foundation
import Histogram

/// The path of this executable (`/proc/self/exe`), to start children of it.
func selfExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// A child process of this benchmark, spoken to in lines on its stdin and stdout; its stderr is ours.
final class BenchChild {
    let name: String
    let outPath: String
    private let process = Process()
    private let input: FileHandle
    private let output: Int32
    private var pending: [UInt8] = []
    private var inputClosed = false

    /// Starts `tocsin-bench <mode> <arguments> --out <folder>/<name>.json`.
    init(mode: String, name: String, arguments: [String], folder: String) throws {
        self.name = name
        outPath = folder + "/\(name).json"
        try? FileManager.default.removeItem(atPath: outPath)
        process.executableURL = URL(fileURLWithPath: selfExecutable())
        process.arguments = [mode] + arguments + ["--out", outPath]
        let stdinPipe = Pipe(), stdoutPipe = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        try process.run()
        input = stdinPipe.fileHandleForWriting
        output = stdoutPipe.fileHandleForReading.fileDescriptor
    }

    var pid: Int32 { process.processIdentifier }

    /// The next line the child prints, waiting at most `timeout` seconds.
    func readLine(timeout: Double) throws -> String {
        let deadline = monoNanos() + nanos(timeout)
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            let now = monoNanos()
            guard now < deadline else { throw BenchError("\(name): no answer within \(fixed(timeout, 0)) s") }
            var pfd = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            let ms = Int32(min(1000, max(1, (deadline - now) / 1_000_000)))
            guard poll(&pfd, 1, ms) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, 4096) }
            if n <= 0 { throw BenchError("\(name) exited before answering (status \(waitStatus()))") }
            pending += chunk[..<n]
        }
    }

    /// Waits for the child's `ready` line.
    func waitReady(timeout: Double = 60) throws {
        let line = try readLine(timeout: timeout)
        guard line == "ready" else { throw BenchError("\(name): expected ready, got \(line)") }
    }

    func send(_ line: String) {
        guard !inputClosed else { return }
        input.write(Data((line + "\n").utf8))
    }

    /// Closes the child's stdin (it reads that as `stop` too).
    func closeInput() {
        guard !inputClosed else { return }
        inputClosed = true
        try? input.close()
    }

    /// Waits for the child to exit (at most `timeout` seconds, then SIGKILL) and reads its result file.
    func finish(timeout: Double) throws -> [String: Any] {
        closeInput()
        let deadline = monoNanos() + nanos(timeout)
        while process.isRunning && monoNanos() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw BenchError("\(name) did not finish within \(fixed(timeout, 0)) s (killed)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("\(name) failed with status \(process.terminationStatus)")
        }
        guard let data = FileManager.default.contents(atPath: outPath),
              let doc = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw BenchError("\(name) wrote no result to \(outPath)") }
        return doc
    }

    /// Ends the child now (after a failure elsewhere).
    func abandon() {
        closeInput()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    private func waitStatus() -> String {
        process.waitUntilExit()
        return "\(process.terminationStatus)"
    }
}

/// Reads lines from our stdin without blocking longer than asked: a child polls it next to its sockets.
struct ParentLink {
    private var pending: [UInt8] = []
    private(set) var closed = false

    /// Tells the parent that setup is done.
    func ready() {
        FileHandle.standardOutput.write(Data("ready\n".utf8))
    }

    /// The next line from the parent if one arrives within `timeoutMs` (`-1`: wait); "stop" when stdin closed.
    mutating func line(timeoutMs: Int32) -> String? {
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            if closed { return "stop" }
            var pfd = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, timeoutMs) > 0 else { return nil }
            var chunk = [UInt8](repeating: 0, count: 1024)
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, 1024) }
            if n <= 0 {
                closed = true
            } else {
                pending += chunk[..<n]
            }
        }
    }

    /// Waits for `go <t0>` and returns t0 (monotonic nanoseconds).
    mutating func waitGo() throws -> UInt64 {
        guard let line = line(timeoutMs: -1), line.hasPrefix("go "), let t0 = UInt64(line.dropFirst(3)) else {
            throw BenchError("expected `go <t0>` from the parent")
        }
        return t0
    }
}

/// A histogram as `[[value, count], ...]` pairs, to carry it from a child to the parent.
func histogramPairs(_ h: Histogram<UInt64>) -> [[UInt64]] {
    h.recordedValues().map { [$0.value, $0.count] }
}

/// Adds `[[value, count], ...]` pairs written by `histogramPairs` into `h`.
func addPairs(_ pairs: Any?, to h: inout Histogram<UInt64>) {
    guard let pairs = pairs as? [[Any]] else { return }
    for p in pairs {
        guard p.count == 2, let v = (p[0] as? NSNumber)?.uint64Value, let c = (p[1] as? NSNumber)?.uint64Value
        else { continue }
        _ = h.record(v, count: c)
    }
}

/// A new latency histogram in microseconds (1 µs to 60 s, 3 significant digits).
func latencyHistogram() -> Histogram<UInt64> {
    Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
}

/// Writes a child's result document.
func writeResult(_ doc: [String: Any], to path: String) throws {
    let data = try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys])
    try data.write(to: URL(fileURLWithPath: path))
}

/// An integer from a JSON document written by a child.
func int(_ v: Any?) -> Int { (v as? NSNumber)?.intValue ?? 0 }
func double(_ v: Any?) -> Double { (v as? NSNumber)?.doubleValue ?? 0 }
