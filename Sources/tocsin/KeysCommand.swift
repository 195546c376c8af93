import ArgumentParser
import ZeroMQ

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "CURVE keys for securing the endpoints.", subcommands: [Generate.self])

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a new CURVE key pair in Z85.")

        func run() throws {
            let pair = try CurveKeyPair.generate()
            print("public: \(pair.publicKey)")
            print("secret: \(pair.secretKey)")
        }
    }
}
