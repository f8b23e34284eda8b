import IPAuth
import XCTest

final class IPAuthTests: XCTestCase {
    let ip = IPAuthProvider()

    func testExactAddressesAndCIDRRanges() {
        XCTAssertTrue(ip.matches(id: "127.0.0.1", expression: "127.0.0.1"))
        XCTAssertFalse(ip.matches(id: "127.0.0.2", expression: "127.0.0.1"))
        XCTAssertTrue(ip.matches(id: "127.0.0.2", expression: "127.0.0.0/8"))
        XCTAssertTrue(ip.matches(id: "10.1.2.3", expression: "10.1.0.0/17"))
        XCTAssertFalse(ip.matches(id: "10.1.128.3", expression: "10.1.0.0/17"))
        XCTAssertTrue(ip.matches(id: "1.2.3.4", expression: "0.0.0.0/0"))
    }

    func testIPv6AndNoCrossFamilyMatch() {
        XCTAssertTrue(ip.matches(id: "::1", expression: "::1"))
        XCTAssertTrue(ip.matches(id: "fd00::1234", expression: "fd00::/8"))
        XCTAssertFalse(ip.matches(id: "fe80::1", expression: "fd00::/8"))
        XCTAssertFalse(ip.matches(id: "127.0.0.1", expression: "::1/0"))
    }

    func testValidation() {
        XCTAssertTrue(ip.isValid(expression: "192.168.0.0/16"))
        XCTAssertFalse(ip.isValid(expression: "192.168.0.0/33"))
        XCTAssertFalse(ip.isValid(expression: "not-an-ip"))
        XCTAssertFalse(ip.isAuthenticated, "an address is not a user for the auth scheme")
    }

    func testAuthenticationYieldsTheRemoteAddress() {
        XCTAssertEqual(ip.authenticate([], remoteHost: "10.0.0.5"), ["10.0.0.5"])
    }
}
