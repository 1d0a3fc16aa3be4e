package tsim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// SeedPlans are the service plans of seeded devices.
var SeedPlans = []string{"m2m4G", "M2M5MBShare", "IoT1GBPool", "LTEM50MB", "NBIoTBasic"}

// SeedDevices adds n plausible devices to account (creating the account,
// also when n is 0): mostly active, some suspended, pre-active and
// deactivated, on the SeedPlans, identified by ICCID and IMEI (an EID for
// some eSIM devices, MEID and ESN for some legacy ones) and by an MDN once
// activated. The same seed gives the same devices. Once any account
// exists, list and actions refuse accounts the simulator does not know.
func (s *Server) SeedDevices(account string, n int, seed int64) {
	now := s.now()
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	s.inv.mu.Lock()
	defer s.inv.mu.Unlock()
	s.inv.accounts[account] = true
	// The list is ordered by creation: creation dates grow with the
	// internal ids, from 900 days ago (or after the last seeded device).
	start, end := now.Add(-900*24*time.Hour), now.Add(-30*24*time.Hour)
	if !s.inv.lastCreated.IsZero() && !start.After(s.inv.lastCreated) {
		start = s.inv.lastCreated.Add(time.Minute)
	}
	step := max(end.Sub(start)/time.Duration(max(n, 1)), 2*time.Minute)
	for i := range n {
		created := start.Add(time.Duration(i)*step + time.Duration(rng.Int64N(int64(step/2))))
		s.inv.lastCreated = created
		s.inv.add(s.inv.genDevice(rng, account, created, now))
	}
}

// genDevice makes one device created at created. The caller holds mu.
func (inv *inventory) genDevice(rng *rand.Rand, account string, created, now time.Time) Device {
	state := StateActive
	switch p := rng.IntN(100); {
	case p < 10:
		state = StateSuspend
	case p < 20:
		state = StatePreActive
	case p < 30:
		state = StateDeactive
	}
	d := Device{
		AccountName:         account,
		CarrierInformations: []CarrierInformation{{CarrierName: CarrierName, ServicePlan: SeedPlans[rng.IntN(len(SeedPlans))], State: state}},
	}
	d.CreatedAt = formatTime(created)
	d.DeviceIDs = []DeviceID{{Kind: KindICCID, ID: inv.uniqueID(KindICCID, func() string { return genICCID(rng) })}}
	switch p := rng.IntN(100); {
	case p < 5:
		d.DeviceIDs = append(d.DeviceIDs,
			DeviceID{Kind: KindMEID, ID: inv.uniqueID(KindMEID, func() string { return genMEID(rng) })},
			DeviceID{Kind: KindESN, ID: inv.uniqueID(KindESN, func() string { return genESN(rng) })})
	case p < 15:
		d.DeviceIDs = append(d.DeviceIDs,
			DeviceID{Kind: KindIMEI, ID: inv.uniqueID(KindIMEI, func() string { return genIMEI(rng) })},
			DeviceID{Kind: KindEID, ID: inv.uniqueID(KindEID, func() string { return genEID(rng) })})
	default:
		d.DeviceIDs = append(d.DeviceIDs, DeviceID{Kind: KindIMEI, ID: inv.uniqueID(KindIMEI, func() string { return genIMEI(rng) })})
	}
	if state == StatePreActive {
		return d
	}
	d.DeviceIDs = append(d.DeviceIDs, DeviceID{Kind: KindMDN, ID: inv.uniqueID(KindMDN, func() string { return genMDN(rng, "") })})
	activated := created.Add(time.Duration(1+rng.IntN(14*24*60)) * time.Minute)
	if activated.After(now) {
		activated = created
	}
	d.LastActivationDate, d.LastActivationBy = formatTime(activated), "seed"
	if span := now.Sub(activated); span > time.Minute {
		d.LastConnectionDate = formatTime(activated.Add(time.Duration(rng.Int64N(int64(span)))))
	}
	if state != StateDeactive {
		d.IPAddress = genIP(rng)
		d.Connected = state == StateActive && rng.IntN(10) < 6
	}
	return d
}

// uniqueID draws identifiers of kind until one is new. The caller holds mu.
func (inv *inventory) uniqueID(kind string, gen func() string) string {
	for {
		if id := gen(); inv.index[idKey(kind, id)] == nil {
			return id
		}
	}
}

func digits(rng *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + rng.IntN(10)))
	}
	return b.String()
}

// luhn appends the Luhn check digit to the decimal string s.
func luhn(s string) string {
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if (len(s)-1-i)%2 == 0 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return s + string(rune('0'+(10-sum%10)%10))
}

// genICCID: 89 (telecom) 1 (US) 480 (Verizon), 13 digits, check digit.
func genICCID(rng *rand.Rand) string { return luhn("891480" + digits(rng, 13)) }

var seedTACs = []string{"35332011", "86723104", "35925406", "35170712", "01523600"}

// genIMEI: a type allocation code, a 6-digit serial, check digit.
func genIMEI(rng *rand.Rand) string {
	return luhn(seedTACs[rng.IntN(len(seedTACs))] + digits(rng, 6))
}

// genEID: an eUICC identifier, 32 digits.
func genEID(rng *rand.Rand) string { return "89049032" + digits(rng, 24) }

// genMEID: 14 hexadecimal digits in the A0 range.
func genMEID(rng *rand.Rand) string { return fmt.Sprintf("A1000%09X", rng.Int64N(1<<36)) }

// genESN: the decimal form, 3-digit manufacturer code and 8-digit serial.
func genESN(rng *rand.Rand) string { return fmt.Sprintf("%03d%08d", 128+rng.IntN(100), rng.IntN(1e8)) }

// areaCodes by the first digit of a ZIP code (a rough map; only
// plausibility matters).
var areaCodes = [10]string{"201", "617", "212", "215", "404", "614", "312", "214", "303", "415"}

// genMDN: a 10-digit number whose area code follows zip when given.
func genMDN(rng *rand.Rand, zip string) string {
	area := areaCodes[rng.IntN(len(areaCodes))]
	if zip != "" {
		area = areaCodes[zip[0]-'0']
	}
	return fmt.Sprintf("%s%d%s", area, 2+rng.IntN(8), digits(rng, 6))
}

func genIP(rng *rand.Rand) string {
	return fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), 1+rng.IntN(254))
}
