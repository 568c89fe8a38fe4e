package zone

// Continent codes a geolocation record may name, as Route 53 spells them.
const (
	ContinentAfrica       = "AF"
	ContinentAntarctica   = "AN"
	ContinentAsia         = "AS"
	ContinentEurope       = "EU"
	ContinentOceania      = "OC"
	ContinentNorthAmerica = "NA"
	ContinentSouthAmerica = "SA"
)

// Continents lists the seven continent codes in Route 53's order.
var Continents = []string{
	ContinentAfrica, ContinentAntarctica, ContinentAsia, ContinentEurope,
	ContinentOceania, ContinentNorthAmerica, ContinentSouthAmerica,
}

// IsContinent reports whether code is one of the seven continent codes.
func IsContinent(code string) bool {
	_, ok := continentMembers[code]
	return ok
}

// ContinentOf returns the continent Route 53 puts an ISO 3166-1 alpha-2 country in. Route 53
// keeps its own list, which differs from some GeoIP databases' continent field: Turkey (TR)
// is in Asia and Cyprus (CY) in Europe, for example. The answer is false for a code that is
// not an assigned country.
func ContinentOf(country string) (string, bool) {
	c, ok := continentOf[country]
	return c, ok
}

// continentMembers holds every assigned ISO 3166-1 alpha-2 code under the continent Route
// 53 files it under.
var continentMembers = map[string][]string{
	ContinentAfrica: {
		"AO", "BF", "BI", "BJ", "BW", "CD", "CF", "CG", "CI", "CM", "CV", "DJ", "DZ", "EG",
		"EH", "ER", "ET", "GA", "GH", "GM", "GN", "GQ", "GW", "KE", "KM", "LR", "LS", "LY",
		"MA", "MG", "ML", "MR", "MU", "MW", "MZ", "NA", "NE", "NG", "RE", "RW", "SC", "SD",
		"SH", "SL", "SN", "SO", "SS", "ST", "SZ", "TD", "TG", "TN", "TZ", "UG", "YT", "ZA",
		"ZM", "ZW",
	},
	ContinentAntarctica: {"AQ", "BV", "GS", "HM", "TF"},
	ContinentAsia: {
		"AE", "AF", "AM", "AZ", "BD", "BH", "BN", "BT", "CC", "CN", "CX", "GE", "HK", "ID",
		"IL", "IN", "IO", "IQ", "IR", "JO", "JP", "KG", "KH", "KP", "KR", "KW", "KZ", "LA",
		"LB", "LK", "MM", "MN", "MO", "MV", "MY", "NP", "OM", "PH", "PK", "PS", "QA", "SA",
		"SG", "SY", "TH", "TJ", "TL", "TM", "TR", "TW", "UZ", "VN", "YE",
	},
	ContinentEurope: {
		"AD", "AL", "AT", "AX", "BA", "BE", "BG", "BY", "CH", "CY", "CZ", "DE", "DK", "EE",
		"ES", "FI", "FO", "FR", "GB", "GG", "GI", "GR", "HR", "HU", "IE", "IM", "IS", "IT",
		"JE", "LI", "LT", "LU", "LV", "MC", "MD", "ME", "MK", "MT", "NL", "NO", "PL", "PT",
		"RO", "RS", "RU", "SE", "SI", "SJ", "SK", "SM", "UA", "VA",
	},
	ContinentOceania: {
		"AS", "AU", "CK", "FJ", "FM", "GU", "KI", "MH", "MP", "NC", "NF", "NR", "NU", "NZ",
		"PF", "PG", "PN", "PW", "SB", "TK", "TO", "TV", "UM", "VU", "WF", "WS",
	},
	ContinentNorthAmerica: {
		"AG", "AI", "AW", "BB", "BL", "BM", "BQ", "BS", "BZ", "CA", "CR", "CU", "CW", "DM",
		"DO", "GD", "GL", "GP", "GT", "HN", "HT", "JM", "KN", "KY", "LC", "MF", "MQ", "MS",
		"MX", "NI", "PA", "PM", "PR", "SV", "SX", "TC", "TT", "US", "VC", "VG", "VI",
	},
	ContinentSouthAmerica: {
		"AR", "BO", "BR", "CL", "CO", "EC", "FK", "GF", "GY", "PE", "PY", "SR", "UY", "VE",
	},
}

// continentOf inverts continentMembers.
var continentOf = func() map[string]string {
	m := make(map[string]string, 250)
	for continent, countries := range continentMembers {
		for _, c := range countries {
			m[c] = continent
		}
	}
	return m
}()
