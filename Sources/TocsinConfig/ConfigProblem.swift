/// One problem found while loading configuration: the file, the line, the key and a clear message.
public struct ConfigProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    /// The dotted key path, e.g. `types.water_level.tiers.IV[0].gte`.
    public var key: String
    public var message: String

    public init(file: String, line: Int, column: Int = 1, key: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    public var description: String {
        key.isEmpty ? "\(file):\(line):\(column): \(message)" : "\(file):\(line):\(column): \(key): \(message)"
    }
}

/// Every problem found while loading, not just the first.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigProblem]
    public init(_ problems: [ConfigProblem]) { self.problems = problems }
    public var description: String {
        "\(problems.count) configuration problem\(problems.count == 1 ? "" : "s"):\n"
            + problems.map { "  " + $0.description }.joined(separator: "\n")
    }
}

/// Collects problems across files so that a load reports all of them at once.
package final class ProblemSink {
    package var problems: [ConfigProblem] = []
    package init() {}
    package func add(_ p: ConfigProblem) { problems.append(p) }
}
