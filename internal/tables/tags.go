package tables

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
)

// Tags: key-value labels on a table, kept with its description.

// maxTags is the most tags a table may have.
const maxTags = 50

type tag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

type tagResourceInput struct {
	ResourceArn *string `json:"ResourceArn"`
	Tags        []tag   `json:"Tags"`
}

type untagResourceInput struct {
	ResourceArn *string  `json:"ResourceArn"`
	TagKeys     []string `json:"TagKeys"`
}

type listTagsOfResourceInput struct {
	ResourceArn *string `json:"ResourceArn"`
	NextToken   *string `json:"NextToken"`
}

type listTagsOfResourceOutput struct {
	Tags []tag `json:"Tags"`
}

var tableARNPattern = regexp.MustCompile(`^arn:[^:]+:dynamodb:[^:]*:[0-9]*:table/[a-zA-Z0-9_.-]{3,255}$`)

// tagTarget checks a ResourceArn and returns the table it names. The caller holds s.mu.
func (s *Service) tagTarget(arn *string) (*table, error) {
	if arn == nil {
		return nil, validationf("Invalid TableArn")
	}
	if !tableARNPattern.MatchString(*arn) {
		return nil, validationf("Invalid TableArn: Invalid ResourceArn provided as input %s", *arn)
	}
	t := s.tables[tableNameFromARN(*arn)]
	if t == nil || s.tableARN(t.meta.Name) != *arn {
		return nil, errorf("ResourceNotFoundException", "Requested resource not found: ResourcArn: %s not found", *arn)
	}
	return t, nil
}

// validateTags checks the tags of a TagResource or CreateTable request.
func validateTags(tags []tag) error {
	var v violations
	for i, tg := range tags {
		switch {
		case tg.Key == nil:
			v.add(nil, fmt.Sprintf("tags.%d.member.key", i+1), "Member must not be null")
		case len(*tg.Key) < 1 || len(*tg.Key) > 128:
			v.add(*tg.Key, fmt.Sprintf("tags.%d.member.key", i+1), "Member must have length less than or equal to 128")
		}
		switch {
		case tg.Value == nil:
			v.add(nil, fmt.Sprintf("tags.%d.member.value", i+1), "Member must not be null")
		case len(*tg.Value) > 256:
			v.add(*tg.Value, fmt.Sprintf("tags.%d.member.value", i+1), "Member must have length less than or equal to 256")
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	if len(tags) > maxTags {
		return errorf("LimitExceededException", "%d tags; at most %d are allowed", len(tags), maxTags)
	}
	return nil
}

func (s *Service) tagResource(_ *requestContext, body []byte) (any, error) {
	var in tagResourceInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.ResourceArn != nil && in.Tags == nil {
		return nil, mustNotBeNull("tags")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tagTarget(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, validationf("Atleast one Tag needs to be provided as Input.")
	}
	next := t.currentSettings()
	next.tags = maps.Clone(next.tags)
	if next.tags == nil {
		next.tags = map[string]string{}
	}
	for _, tg := range in.Tags {
		next.tags[*tg.Key] = *tg.Value
	}
	if len(next.tags) > maxTags {
		return nil, errorf("LimitExceededException", "The table %s would have %d tags; at most %d are allowed", t.meta.Name, len(next.tags), maxTags)
	}
	if err := s.checkResidencyTags(t, next.tags); err != nil {
		return nil, err
	}
	g, err := s.changeGlobalSettings(t, func(g *globalTable) error {
		g.Tags = maps.Clone(next.tags)
		return nil
	})
	if err != nil {
		return nil, err
	}
	next.global = g
	if err := s.saveSettings(t, next); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Service) untagResource(_ *requestContext, body []byte) (any, error) {
	var in untagResourceInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.ResourceArn != nil && in.TagKeys == nil {
		return nil, mustNotBeNull("tagKeys")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tagTarget(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, validationf("Atleast one Tag Key needs to be provided as Input.")
	}
	next := t.currentSettings()
	next.tags = maps.Clone(next.tags)
	for _, k := range in.TagKeys {
		delete(next.tags, k)
	}
	if err := s.checkResidencyTags(t, next.tags); err != nil {
		return nil, err
	}
	g, err := s.changeGlobalSettings(t, func(g *globalTable) error {
		g.Tags = maps.Clone(next.tags)
		return nil
	})
	if err != nil {
		return nil, err
	}
	next.global = g
	if err := s.saveSettings(t, next); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (s *Service) listTagsOfResource(_ *requestContext, body []byte) (any, error) {
	var in listTagsOfResourceInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	s.mu.RLock()
	t, err := s.tagTarget(in.ResourceArn)
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	tags := t.currentSettings().tags
	out := listTagsOfResourceOutput{Tags: []tag{}}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out.Tags = append(out.Tags, tag{Key: &k, Value: ptr(tags[k])})
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }
