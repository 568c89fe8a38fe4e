package tables

// DescribeEndpoints and DescribeLimits: what SDKs with endpoint discovery and capacity
// planners ask before they start.

// endpointCachePeriod is how long clients may cache the endpoint, in minutes (DynamoDB's).
const endpointCachePeriod = 1440

type endpoint struct {
	Address              string `json:"Address"`
	CachePeriodInMinutes int64  `json:"CachePeriodInMinutes"`
}

type describeEndpointsOutput struct {
	Endpoints []endpoint `json:"Endpoints"`
}

// describeEndpoints answers with the address the request was sent to: this region's
// endpoint is the only one.
func (s *Service) describeEndpoints(rc *requestContext, body []byte) (any, error) {
	var in struct{}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return describeEndpointsOutput{Endpoints: []endpoint{{Address: rc.host, CachePeriodInMinutes: endpointCachePeriod}}}, nil
}

// Capacity limits reported by DescribeLimits: DynamoDB's default quotas. polyregion does
// not enforce them; applications read them to size their tables.
const (
	accountMaxCapacity = 80000
	tableMaxCapacity   = 40000
)

type describeLimitsOutput struct {
	AccountMaxReadCapacityUnits  int64 `json:"AccountMaxReadCapacityUnits"`
	AccountMaxWriteCapacityUnits int64 `json:"AccountMaxWriteCapacityUnits"`
	TableMaxReadCapacityUnits    int64 `json:"TableMaxReadCapacityUnits"`
	TableMaxWriteCapacityUnits   int64 `json:"TableMaxWriteCapacityUnits"`
}

func (s *Service) describeLimits(_ *requestContext, body []byte) (any, error) {
	var in struct{}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	return describeLimitsOutput{accountMaxCapacity, accountMaxCapacity, tableMaxCapacity, tableMaxCapacity}, nil
}
