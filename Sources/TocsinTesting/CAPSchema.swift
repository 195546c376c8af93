import Foundation

/// The official CAP 1.2 schema and samples, and `xmllint` to validate against them (tests of the CAP renderer,
/// the CAP documents and the Atom feed of the HTTP server).
public enum CAPSchema {
    /// The folder holding `CAP-v1.2.xsd` and `samples/`: `$TOCSIN_CAP_DIR`, else a `cap/` folder of the
    /// repository (`cap/`, `Tests/Fixtures/cap/`, `docs/cap/`), else the project's shared `/work/shared/cap`.
    public static let directory: String? = {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["TOCSIN_CAP_DIR"] { candidates.append(env) }
        candidates += ["cap", "Tests/Fixtures/cap", "docs/cap"].map { Fixtures.repositoryRoot + "/" + $0 }
        candidates.append("/work/shared/cap")
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/CAP-v1.2.xsd") }
    }()

    public static let xmllint: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            let candidate = "\(dir)/xmllint"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    public struct Result: Sendable {
        public var status: Int32
        public var output: String
        public var valid: Bool { status == 0 }
    }

    public struct Missing: Error, CustomStringConvertible {
        public var description: String
    }

    /// `xmllint --noout --schema CAP-v1.2.xsd FILE`.
    public static func validate(file: String) throws -> Result {
        guard let dir = directory else { throw Missing(description: "CAP-v1.2.xsd not found (set TOCSIN_CAP_DIR)") }
        return try xmllint(["--noout", "--nonet", "--schema", dir + "/CAP-v1.2.xsd", file])
    }

    /// Validates `xml` through a temporary file.
    public static func validate(xml: String) throws -> Result {
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("tocsin-cap-\(UUID().uuidString).xml").path
        try Data(xml.utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try validate(file: file)
    }

    /// `xmllint --noout FILE`: well-formed XML, no schema.
    public static func wellFormed(file: String) throws -> Result { try xmllint(["--noout", "--nonet", file]) }

    static func xmllint(_ arguments: [String]) throws -> Result {
        guard let tool = xmllint else { throw Missing(description: "xmllint not found (apt-get install libxml2-utils)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
